using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>
/// The long-lived <c>codex app-server</c> child process: stdin stays open for requests (writes are serialized), stdout is read by
/// one reader, the end of stderr is kept for error messages. It runs in its own process group (see <see cref="ChildProcess"/>),
/// so that killing it also ends what it started, even processes already reparented to init.
/// </summary>
internal sealed class AppServerProcess : IAsyncDisposable, IDisposable
{
    private readonly ChildProcess _process;

    private AppServerProcess(ChildProcess process) => _process = process;

    public int Id => _process.Id;

    /// <summary>True once the process has exited (as reaped by .NET) or this object was disposed.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The end of what the process wrote to stderr so far.</summary>
    public string StderrTail => _process.StderrTail;

    /// <summary>
    /// The line of stderr that best says why the process failed: the last error, leaving out the warnings Codex always prints
    /// (no bubblewrap on PATH, no helper links under /tmp), which would otherwise be taken for the reason.
    /// </summary>
    public string StderrSummary
    {
        get
        {
            var lines = StderrTail.Split('\n').Where(l => !l.Contains("bubblewrap", StringComparison.Ordinal) && !l.Contains("PATH aliases", StringComparison.Ordinal));
            return CliErrors.MostRelevantLine(string.Join('\n', lines));
        }
    }

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => _process.ExitCode;

    /// <summary>Starts the process in its own process group, or returns why it could not be started.</summary>
    public static (AppServerProcess? Process, string? Error) TryStart(CliCommand command, ILogger logger, TimeProvider time)
    {
        var (process, error) = ChildProcess.TryStart(command, ownProcessGroup: true, logger, time);
        return process is null ? (null, error) : (new AppServerProcess(process), null);
    }

    /// <summary>
    /// Writes one message and its newline; lines of concurrent writers never interleave. Only waiting for the turn to write can be
    /// cancelled: a line cut short would corrupt the stream for every thread. Throws <see cref="IOException"/> when the process is gone.
    /// </summary>
    public Task WriteLineAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken) => _process.WriteLineAsync(utf8Json, cancellationToken);

    /// <summary>The next stdout line, or null at the end of output. Only the connection's reader loop calls this.</summary>
    public ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => _process.ReadLineAsync(cancellationToken);

    /// <summary>The exit code, or null if the process has not exited within <paramref name="timeout"/>.</summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Completes when the process has exited (or this object was disposed).</summary>
    public Task WaitForExitAsync() => _process.WaitForExitAsync(CancellationToken.None);

    /// <summary>Closes stdin: the app-server then exits by itself (in ~0.1 s), abandoning any running turn.</summary>
    public void CloseStdin() => _process.CloseStdin();

    /// <summary>Kills the process tree and the process group (SIGKILL) and reaps the process.</summary>
    public Task KillAsync(string reason) => _process.KillAsync(reason);

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    /// <summary>For a synchronous container dispose: kills without waiting for the reaping.</summary>
    public void Dispose() => _process.Dispose();

    /// <summary>After the app-server died by itself: ends what is left of its process group (a tool command it had started).</summary>
    public void KillLeftovers() => _process.KillLeftovers();
}
