using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Silo.Hosting;

/// <summary>
/// Replaces Orleans' fatal error handler, which ends the process with <see cref="Environment.FailFast(string)"/> (for instance when
/// the cluster declared this silo dead). The CLIs run in process groups of their own, so they would outlive the silo and go on
/// running a turn's commands that no one owns any more: this handler kills them first, then fails fast as Orleans does.
/// </summary>
internal sealed partial class StopCliProcessesFatalErrorHandler(ILogger<StopCliProcessesFatalErrorHandler> logger) : IFatalErrorHandler
{
    public bool IsUnexpected(Exception exception) => exception is not ThreadInterruptedException;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        var killed = ChildProcess.KillAll("the silo is stopping on a fatal error");
        LogFatal(exception, sender?.ToString() ?? "unknown", context ?? "none", killed);
        // Give the logger a moment to write, as Orleans' own handler does.
        Thread.Sleep(500);
        if (Debugger.IsAttached)
        {
            Debugger.Break();
        }

        Environment.FailFast($"Fatal error from {sender}: {context}", exception);
    }

    [LoggerMessage(EventId = 4000, Level = LogLevel.Critical, Message = "Fatal error from {Sender} ({Context}); killed {Count} CLI process group(s) before stopping")]
    private partial void LogFatal(Exception? exception, string sender, string context, int count);
}
