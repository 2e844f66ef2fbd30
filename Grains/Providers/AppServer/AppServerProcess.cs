using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>
/// The long-lived <c>codex app-server</c> child process: stdin stays open for requests (writes are serialized), stdout is read by
/// one reader, the last <see cref="CliProcess.StderrTailChars"/> characters of stderr are kept for error messages. It runs in its
/// own process group (started through <c>setsid</c>, which execs in place, so the pid is Codex's and is the group id), so that
/// killing it also ends what it started, even processes already reparented to init. Without <c>setsid</c> on the machine only
/// the process tree is killed.
/// </summary>
internal sealed class AppServerProcess : IAsyncDisposable, IDisposable
{
    private const int SigKill = 9;
    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(10);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();
    private static readonly string? SetsidPath = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    private readonly Process _process;
    private readonly CliCommand _command;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly int? _processGroup;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _exitLogged;
    private int _disposed;

    private AppServerProcess(Process process, CliCommand command, bool ownGroup, ILogger logger, TimeProvider time)
    {
        _process = process;
        _command = command;
        _logger = logger;
        _time = time;
        _startedAt = time.GetTimestamp();
        Id = process.Id;
        _processGroup = ownGroup ? process.Id : null;
        _stderrPump = PumpStderrAsync();
    }

    public int Id { get; }

    /// <summary>True once the process has exited (as reaped by .NET) or this object was disposed.</summary>
    public bool HasExited
    {
        get
        {
            if (Volatile.Read(ref _disposed) == 1)
            {
                return true;
            }

            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

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

    /// <summary>Starts the process in its own process group, or returns why it could not be started.</summary>
    public static (AppServerProcess? Process, string? Error) TryStart(CliCommand command, ILogger logger, TimeProvider time)
    {
        var startInfo = new ProcessStartInfo(SetsidPath ?? command.FileName)
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
        if (SetsidPath is not null)
        {
            // setsid stops parsing its own options at the first non-option, the absolute path of codex.
            startInfo.ArgumentList.Add(command.FileName);
        }

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
            CliLog.ProcessStarted(logger, command.Provider, process.Id, command.FileName, string.Join(' ', command.Arguments), command.WorkingDirectory);
            return (new AppServerProcess(process, command, SetsidPath is not null, logger, time), null);
        }
        catch (Exception e) when (e is Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            CliLog.ProcessStartFailed(logger, command.Provider, command.FileName, e.Message);
            return (null, $"could not start {command.FileName}: {e.Message}");
        }
    }

    /// <summary>
    /// Writes one message and its newline; lines of concurrent writers never interleave. Only waiting for the turn to write can be
    /// cancelled: a line cut short would corrupt the stream for every thread. Throws <see cref="IOException"/> when the process is gone.
    /// </summary>
    public async Task WriteLineAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var stdin = _process.StandardInput.BaseStream;
            await stdin.WriteAsync(utf8Json, CancellationToken.None);
            await stdin.WriteAsync(NewLine, CancellationToken.None);
            await stdin.FlushAsync(CancellationToken.None);
        }
        catch (ObjectDisposedException e)
        {
            throw new IOException("The app-server's stdin is closed.", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next stdout line, or null at the end of output. Only the connection's reader loop calls this.</summary>
    public ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => _process.StandardOutput.ReadLineAsync(cancellationToken);

    /// <summary>The exit code, or null if the process has not exited within <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout, _time);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            return ExitCode;
        }

        LogExit();
        return ExitCode;
    }

    /// <summary>Completes when the process has exited (or this object was disposed).</summary>
    public async Task WaitForExitAsync()
    {
        try
        {
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode
    {
        get
        {
            try
            {
                return _process.HasExited ? _process.ExitCode : null;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>Closes stdin: the app-server then exits by itself (in ~0.1 s), abandoning any running turn.</summary>
    public void CloseStdin()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Kills the process tree and the process group (SIGKILL) and reaps the process.</summary>
    public async Task KillAsync(string reason)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        Kill(reason);
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
        catch (InvalidOperationException)
        {
            return; // disposed meanwhile, which killed it
        }

        LogExit();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync("disposed while running");
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _process.Dispose();
        }
    }

    /// <summary>For a synchronous container dispose: kills without waiting for the reaping.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            Kill("disposed while running");
        }

        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _process.Dispose();
        }
    }

    /// <summary>After the app-server died by itself: ends what is left of its process group (a tool command it had started).</summary>
    public void KillLeftovers()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            Kill("exited");
        }
    }

    private void Kill(string reason)
    {
        var leaderAlive = !HasExited;
        if (leaderAlive)
        {
            CliLog.ProcessKilled(_logger, _command.Provider, Id, reason);
            try
            {
                // The tree first: it reaches descendants that left the group; the group then reaches those already reparented.
                _process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException)
            {
                // It exited between the check and the kill.
            }
        }

        // A group outlives its leader while a member lives, and its id cannot be reused meanwhile. Once the leader is long gone,
        // a process with that pid would be someone else's, so the group is only signalled when no such process exists.
        if (_processGroup is { } group && (leaderAlive || !Directory.Exists($"/proc/{group}")))
        {
            _ = KillSystemCall(-group, SigKill);
        }
    }

    private void LogExit()
    {
        if (ExitCode is not { } exitCode || Interlocked.Exchange(ref _exitLogged, 1) == 1)
        {
            return;
        }

        CliLog.ProcessExited(_logger, _command.Provider, Id, exitCode, (long)_time.GetElapsedTime(_startedAt).TotalMilliseconds);
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
                    if (_stderr.Length > CliProcess.StderrTailChars)
                    {
                        _stderr.Remove(0, _stderr.Length - CliProcess.StderrTailChars);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillSystemCall(int pid, int signal);
}
