using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>Log messages of the persistent Claude Code processes (event ids 3170–3189; the processes themselves log through <see cref="CliLog"/>).</summary>
internal static partial class ClaudeStreamLog
{
    [LoggerMessage(3170, LogLevel.Debug, "Claude Code pid {Pid} (session {SessionId}) started for a turn")]
    public static partial void Started(ILogger logger, int pid, string? sessionId);

    [LoggerMessage(3171, LogLevel.Information, "Claude Code pid {Pid} (session {SessionId}) is being ended: {Reason}")]
    public static partial void Ending(ILogger logger, int pid, string? sessionId, string reason);

    [LoggerMessage(3172, LogLevel.Information, "Claude Code turn on pid {Pid} interrupted: {Reason}")]
    public static partial void Interrupted(ILogger logger, int pid, string reason);

    [LoggerMessage(3173, LogLevel.Debug, "Claude Code pid {Pid} switched to model {Model}")]
    public static partial void ModelSwitched(ILogger logger, int pid, string model);

    [LoggerMessage(3174, LogLevel.Warning, "Claude Code pid {Pid} refused to switch to model {Model}: {Error}; starting a new process")]
    public static partial void ModelSwitchFailed(ILogger logger, int pid, string model, string error);

    [LoggerMessage(3175, LogLevel.Debug, "Claude Code spare pid {Pid} (session {SessionId}) started in {Directory}")]
    public static partial void SpareStarted(ILogger logger, int pid, string? sessionId, string directory);

    [LoggerMessage(3176, LogLevel.Debug, "Claude Code spare pid {Pid} (session {SessionId}) taken by a turn after {Age}")]
    public static partial void SpareTaken(ILogger logger, int pid, string? sessionId, TimeSpan age);

    [LoggerMessage(3177, LogLevel.Warning, "A Claude Code spare process could not be started: {Reason}; new sessions start their own")]
    public static partial void SpareStartFailed(ILogger logger, string reason);

    [LoggerMessage(3178, LogLevel.Warning, "Claude Code spare pid {Pid} could not be initialized for a turn: {Error}; starting a new process")]
    public static partial void SpareInitializeFailed(ILogger logger, int pid, string error);
}
