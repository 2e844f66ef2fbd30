using System.Text;
using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>What to start: never through a shell, arguments passed one by one.</summary>
/// <param name="Environment">Added to the server's environment; a null or empty value removes the variable.</param>
internal sealed record CliCommand(
    CliProvider Provider,
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string?> Environment);

/// <summary>
/// One CLI process per turn: stdin gets the prompt and is closed at once (both CLIs wait for EOF on an open stdin), stdout is read
/// line by line, the end of stderr is kept for error messages. Disposing kills the whole process tree if it still runs and always
/// reaps it.
/// </summary>
internal sealed class CliProcess : IAsyncDisposable
{
    public const int StderrTailChars = ChildProcess.StderrTailChars;

    private static readonly TimeSpan StderrDrainTimeout = TimeSpan.FromSeconds(2);

    private readonly ChildProcess _process;

    private CliProcess(ChildProcess process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The end of what the process wrote to stderr so far.</summary>
    public string StderrTail => _process.StderrTail;

    /// <summary>Starts the process, or returns why it could not be started (missing or non-executable file).</summary>
    public static (CliProcess? Process, string? Error) TryStart(CliCommand command, ILogger logger, TimeProvider time)
    {
        var (process, error) = ChildProcess.TryStart(command, ownProcessGroup: false, logger, time);
        return process is null ? (null, error) : (new CliProcess(process), null);
    }

    /// <summary>Runs a short command (a status probe) to its end, killing it after <paramref name="timeout"/>.</summary>
    /// <param name="stdin">Written to the process before its stdin is closed.</param>
    public static async Task<ProbeResult> RunProbeAsync(CliCommand command, TimeSpan timeout, ILogger logger, TimeProvider time, CancellationToken cancellationToken, string stdin = "")
    {
        var (process, error) = TryStart(command, logger, time);
        if (process is null)
        {
            return new ProbeResult(null, "", error ?? "", TimedOut: false);
        }

        await using (process)
        {
            using var deadline = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
            await process.WriteStdinAndCloseAsync(stdin, linked.Token);
            var stdout = new StringBuilder();
            try
            {
                while (await process.ReadLineAsync(linked.Token) is { } line)
                {
                    stdout.AppendLine(line);
                }

                var exitCode = await process.WaitForExitAsync(linked.Token);
                return new ProbeResult(exitCode, stdout.ToString(), process.StderrTail, TimedOut: false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await process.KillAsync("probe timed out");
                return new ProbeResult(null, stdout.ToString(), process.StderrTail, TimedOut: true);
            }
        }
    }

    /// <summary>Writes the prompt and closes stdin. A process that exits without reading it is not an error here: its exit tells why.</summary>
    public Task WriteStdinAndCloseAsync(string text, CancellationToken cancellationToken) => _process.WriteAndCloseStdinAsync(text, cancellationToken);

    /// <summary>The next stdout line, or null at end of output.</summary>
    public ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => _process.ReadLineAsync(cancellationToken);

    /// <summary>Waits for the exit (after stdout ended) and returns the exit code, once the last stderr bytes were read (bounded).</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        await _process.WaitForStderrAsync(StderrDrainTimeout, cancellationToken);
        return _process.ExitCode ?? -1;
    }

    /// <summary>Kills the whole process tree (SIGKILL) and reaps it.</summary>
    public Task KillAsync(string reason) => _process.KillAsync(reason);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>The outcome of a status probe; <see cref="ExitCode"/> is null when it could not start or timed out.</summary>
internal sealed record ProbeResult(int? ExitCode, string Stdout, string Stderr, bool TimedOut);
