using System.ComponentModel;
using System.Diagnostics;
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
/// One CLI child process: stdin gets the prompt and is closed at once (both CLIs wait for EOF on an open stdin), stdout is read
/// line by line, the last <see cref="StderrTailChars"/> characters of stderr are kept for error messages. Disposing kills the whole
/// process tree if it still runs and always reaps it.
/// </summary>
internal sealed class CliProcess : IAsyncDisposable
{
    public const int StderrTailChars = 8 * 1024;

    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(10);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Process _process;
    private readonly CliCommand _command;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;
    private bool _exitLogged;

    private CliProcess(Process process, CliCommand command, ILogger logger, TimeProvider time)
    {
        _process = process;
        _command = command;
        _logger = logger;
        _time = time;
        _startedAt = time.GetTimestamp();
        Id = process.Id;
        _stderrPump = PumpStderrAsync();
    }

    public int Id { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The end of what the process wrote to stderr so far.</summary>
    public string StderrTail
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString().Trim();
            }
        }
    }

    /// <summary>Starts the process, or returns why it could not be started (missing or non-executable file).</summary>
    public static (CliProcess? Process, string? Error) TryStart(CliCommand command, ILogger logger, TimeProvider time)
    {
        var startInfo = new ProcessStartInfo(command.FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = Utf8,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
            WorkingDirectory = command.WorkingDirectory,
        };
        foreach (var argument in command.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in command.Environment)
        {
            if (string.IsNullOrEmpty(value))
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        try
        {
            var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned no process.");
            CliLog.ProcessStarted(logger, command.Provider, process.Id, command.FileName, DescribeArguments(command.Arguments), command.WorkingDirectory);
            return (new CliProcess(process, command, logger, time), null);
        }
        catch (Exception e) when (e is Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            CliLog.ProcessStartFailed(logger, command.Provider, command.FileName, e.Message);
            return (null, $"could not start {command.FileName}: {e.Message}");
        }
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
    public async Task WriteStdinAndCloseAsync(string text, CancellationToken cancellationToken)
    {
        try
        {
            if (text.Length > 0)
            {
                await _process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
                await _process.StandardInput.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The next stdout line, or null at end of output.</summary>
    public ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => _process.StandardOutput.ReadLineAsync(cancellationToken);

    /// <summary>Waits for the exit (after stdout ended) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        // The exit can be seen before the last stderr bytes were read, and error mapping reads them (e.g. "no rollout found").
        // Bounded: a grandchild that inherited stderr may keep it open.
        try
        {
            await _stderrPump.WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (TimeoutException)
        {
        }

        LogExit();
        return _process.ExitCode;
    }

    /// <summary>Kills the whole process tree (SIGKILL) and reaps it.</summary>
    public async Task KillAsync(string reason)
    {
        if (!_process.HasExited)
        {
            CliLog.ProcessKilled(_logger, _command.Provider, Id, reason);
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException)
            {
                // It exited between the check and the kill.
            }
        }

        await ReapAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync("disposed while running");
        _process.Dispose();
    }

    private async Task ReapAsync()
    {
        using var timeout = new CancellationTokenSource(ReapTimeout, _time);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            await _stderrPump.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            CliLog.ProcessNotReaped(_logger, _command.Provider, Id);
            return;
        }

        LogExit();
    }

    private void LogExit()
    {
        if (_exitLogged || !_process.HasExited)
        {
            return;
        }

        _exitLogged = true;
        CliLog.ProcessExited(_logger, _command.Provider, Id, _process.ExitCode, (long)_time.GetElapsedTime(_startedAt).TotalMilliseconds);
    }

    private async Task PumpStderrAsync()
    {
        var buffer = new char[4096];
        try
        {
            int read;
            while ((read = await _process.StandardError.ReadAsync(buffer)) > 0)
            {
                lock (_stderr)
                {
                    _stderr.Append(buffer, 0, read);
                    if (_stderr.Length > StderrTailChars)
                    {
                        _stderr.Remove(0, _stderr.Length - StderrTailChars);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>Arguments as logged: long values (instructions) are shortened. The prompt never is an argument.</summary>
    private static string DescribeArguments(IReadOnlyList<string> arguments) =>
        string.Join(' ', arguments.Select(a => a.Length <= 80 ? a : $"{a[..60]}…({a.Length} chars)"));
}

/// <summary>The outcome of a status probe; <see cref="ExitCode"/> is null when it could not start or timed out.</summary>
internal sealed record ProbeResult(int? ExitCode, string Stdout, string Stderr, bool TimedOut);
