using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>Log messages of the Codex app-server (event ids 3150–3169; the process itself logs through <see cref="CliLog"/>).</summary>
internal static partial class AppServerLog
{
    [LoggerMessage(3150, LogLevel.Information, "Codex app-server started: pid {Pid}, {FileName}")]
    public static partial void Started(ILogger logger, int pid, string fileName);

    [LoggerMessage(3151, LogLevel.Warning, "Codex app-server pid {Pid} is gone; its running turns fail and a new one is started (pre-warmed, or by the next turn). {Reason}")]
    public static partial void Exited(ILogger logger, int pid, string reason);

    [LoggerMessage(3152, LogLevel.Warning, "Codex app-server pid {Pid} is being restarted: {Reason}")]
    public static partial void Restarting(ILogger logger, int pid, string reason);

    [LoggerMessage(3153, LogLevel.Information, "Codex app-server pid {Pid} is idle with {Threads} loaded threads: replacing it with a fresh process")]
    public static partial void Recycling(ILogger logger, int pid, int threads);

    [LoggerMessage(3154, LogLevel.Warning, "Codex app-server pid {Pid} asked {Method}; declined")]
    public static partial void ServerRequestRefused(ILogger logger, int pid, string method);

    [LoggerMessage(3155, LogLevel.Debug, "Codex app-server pid {Pid} wrote a line that is not JSON-RPC: {Error}")]
    public static partial void UnreadableLine(ILogger logger, int pid, string error);

    [LoggerMessage(3156, LogLevel.Information, "Codex turn {TurnId} of thread {ThreadId} interrupted: {Reason}")]
    public static partial void TurnInterrupted(ILogger logger, string threadId, string turnId, string reason);

    [LoggerMessage(3157, LogLevel.Debug, "Codex app-server notification {Method} could not be read: {Error}")]
    public static partial void UnreadableNotification(ILogger logger, string method, string error);

    [LoggerMessage(3158, LogLevel.Warning, "Codex app-server could not be pre-warmed (Codex turns on this node fail until it can): {Reason} Retrying in {RetryDelay}.")]
    public static partial void PrewarmFailed(ILogger logger, string reason, TimeSpan retryDelay);

    [LoggerMessage(3159, LogLevel.Information, "Codex app-server ended; pre-warming a new one")]
    public static partial void Replacing(ILogger logger);
}
