using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>Log messages of the CLI providers (event ids 3100–3199).</summary>
internal static partial class CliLog
{
    [LoggerMessage(3100, LogLevel.Debug, "{Provider} CLI started: pid {Pid}, {FileName} {Arguments} (cwd {WorkingDirectory})")]
    public static partial void ProcessStarted(ILogger logger, CliProvider provider, int pid, string fileName, string arguments, string workingDirectory);

    [LoggerMessage(3101, LogLevel.Debug, "{Provider} CLI pid {Pid} exited with code {ExitCode} after {DurationMs} ms")]
    public static partial void ProcessExited(ILogger logger, CliProvider provider, int pid, int exitCode, long durationMs);

    [LoggerMessage(3102, LogLevel.Information, "{Provider} CLI pid {Pid} killed with its process tree: {Reason}")]
    public static partial void ProcessKilled(ILogger logger, CliProvider provider, int pid, string reason);

    [LoggerMessage(3103, LogLevel.Error, "{Provider} CLI pid {Pid} did not exit within 10 s of being killed")]
    public static partial void ProcessNotReaped(ILogger logger, CliProvider provider, int pid);

    [LoggerMessage(3104, LogLevel.Warning, "{Provider} CLI could not be started from {FileName}: {Error}")]
    public static partial void ProcessStartFailed(ILogger logger, CliProvider provider, string fileName, string error);

    [LoggerMessage(3105, LogLevel.Warning, "{Provider} turn failed ({Code}): {Message}")]
    public static partial void TurnFailed(ILogger logger, CliProvider provider, string code, string message);

    [LoggerMessage(3106, LogLevel.Information, "{Provider} CLI status: available={Available} version={Version} path={Path} {Message}")]
    public static partial void StatusChecked(ILogger logger, CliProvider provider, bool available, string? version, string? path, string? message);

    [LoggerMessage(3107, LogLevel.Error, "{Provider} CLI status check failed")]
    public static partial void StatusCheckFailed(ILogger logger, Exception exception, CliProvider provider);
}
