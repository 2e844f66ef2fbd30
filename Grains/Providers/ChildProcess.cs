using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// What every CLI child process shares: started with piped stdio (never through a shell), optionally in its own process group,
/// the last <see cref="StderrTailChars"/> characters of stderr kept for error messages, serialized line writes to stdin, and a
/// kill that ends the process tree and the group (SIGKILL) before reaping. A process in its own group is started through
/// <c>setsid</c>, which execs in place, so the pid is the CLI's and is the group id: killing the group also ends what the CLI
/// started, even processes already reparented to init. Without <c>setsid</c> on the machine only the process tree is killed.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable, IDisposable
{
    public const int StderrTailChars = 8 * 1024;

    private const int SigKill = 9;
    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(10);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();
    private static readonly string? SetsidPath = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    /// <summary>Every CLI process of this node not yet disposed, for <see cref="KillAll"/>.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ChildProcess, byte> Live = new();

    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly int? _processGroup;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _exitLogged;
    private int _disposed;

    private ChildProcess(Process process, CliCommand command, bool ownGroup, ILogger logger, TimeProvider time)
    {
        _process = process;
        Command = command;
        _logger = logger;
        _time = time;
        _startedAt = time.GetTimestamp();
        Id = process.Id;
        _processGroup = ownGroup ? process.Id : null;
        _stderrPump = PumpStderrAsync();
        Live.TryAdd(this, 0);
    }

    /// <summary>
    /// Kills every CLI process of this node with its process group, at once and without waiting: for a node that must stop now (a
    /// silo declared dead fails fast, and processes in their own session would outlive it, still running a turn's commands).
    /// Returns how many were signalled.
    /// </summary>
    public static int KillAll(string reason)
    {
        var count = 0;
        foreach (var process in Live.Keys)
        {
            process.Kill(reason);
            count++;
        }

        return count;
    }

    public int Id { get; }

    public CliCommand Command { get; }

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

    /// <summary>Starts the process (in its own process group if <paramref name="ownProcessGroup"/>), or returns why it could not be started.</summary>
    public static (ChildProcess? Process, string? Error) TryStart(CliCommand command, bool ownProcessGroup, ILogger logger, TimeProvider time)
    {
        var setsid = ownProcessGroup ? SetsidPath : null;
        var startInfo = new ProcessStartInfo(setsid ?? command.FileName)
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
        if (setsid is not null)
        {
            // setsid stops parsing its own options at the first non-option, the absolute path of the CLI.
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
            CliLog.ProcessStarted(logger, command.Provider, process.Id, command.FileName, DescribeArguments(command.Arguments), command.WorkingDirectory);
            return (new ChildProcess(process, command, setsid is not null, logger, time), null);
        }
        catch (Exception e) when (e is Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            CliLog.ProcessStartFailed(logger, command.Provider, command.FileName, e.Message);
            return (null, $"could not start {command.FileName}: {e.Message}");
        }
    }

    /// <summary>
    /// Writes one message and its newline; lines of concurrent writers never interleave. Only waiting for the turn to write can be
    /// cancelled: a line cut short would corrupt the stream. Throws <see cref="IOException"/> when the process is gone.
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
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            throw new IOException($"The stdin of {Command.Provider} CLI pid {Id} is closed.", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes <paramref name="text"/> and closes stdin. A process that exits without reading it is not an error here: its exit tells why.</summary>
    public async Task WriteAndCloseStdinAsync(string text, CancellationToken cancellationToken)
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
            CloseStdin();
        }
    }

    /// <summary>Closes stdin: both CLIs then finish and exit by themselves.</summary>
    public void CloseStdin()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>The next stdout line, or null at the end of output. One reader at a time.</summary>
    public ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => _process.StandardOutput.ReadLineAsync(cancellationToken);

    /// <summary>Completes when the process has exited (or this object was disposed); throws when <paramref name="cancellationToken"/> fires first.</summary>
    public async Task WaitForExitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken);
        }
        catch (InvalidOperationException)
        {
            return;
        }

        LogExit();
    }

    /// <summary>The exit code, or null if the process has not exited within <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout, _time);
        try
        {
            await WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return ExitCode;
    }

    /// <summary>
    /// Waits (bounded) until everything the process wrote to stderr was read: the exit can be seen before its last stderr bytes,
    /// and error mapping reads them. A grandchild that inherited stderr may keep it open, hence the bound.
    /// </summary>
    public async Task WaitForStderrAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _stderrPump.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (TimeoutException)
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
            CliLog.ProcessNotReaped(_logger, Command.Provider, Id);
            return;
        }
        catch (InvalidOperationException)
        {
            return; // disposed meanwhile, which killed it
        }

        LogExit();
    }

    /// <summary>After the process ended by itself: ends what is left of its process group (a tool command it had started).</summary>
    public void KillLeftovers()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            Kill("exited");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync("disposed while running");
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Live.TryRemove(this, out _);
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
            Live.TryRemove(this, out _);
            _process.Dispose();
        }
    }

    private void Kill(string reason)
    {
        var leaderAlive = !HasExited;
        if (leaderAlive)
        {
            CliLog.ProcessKilled(_logger, Command.Provider, Id, reason);
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

        CliLog.ProcessExited(_logger, Command.Provider, Id, exitCode, (long)_time.GetElapsedTime(_startedAt).TotalMilliseconds);
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

    /// <summary>Arguments as logged: long values (instructions, schemas) are shortened. The prompt never is an argument.</summary>
    private static string DescribeArguments(IReadOnlyList<string> arguments) =>
        string.Join(' ', arguments.Select(a => a.Length <= 80 ? a : $"{a[..60]}…({a.Length} chars)"));

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillSystemCall(int pid, int signal);
}
