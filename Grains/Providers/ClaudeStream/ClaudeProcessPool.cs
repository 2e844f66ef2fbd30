using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>
/// This node's persistent Claude Code processes, one per active session (<see cref="ClaudeStreamProcess"/>), keyed by session id.
/// At most <see cref="WorkerOptions.ClaudeProcesses"/> live at once (starting one more ends the least recently used idle one);
/// one idle for <see cref="WorkerOptions.ProcessIdleTimeout"/> is ended (its session resumes from disk with the next turn).
/// Disposing the container ends them all.
/// </summary>
public sealed class ClaudeProcessPool(IOptionsMonitor<WorkerOptions> workerOptions, ILogger<ClaudeProcessPool> logger, TimeProvider timeProvider)
    : IAsyncDisposable, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ClaudeStreamProcess> _processes = new(StringComparer.Ordinal);
    private readonly List<Task> _ending = [];
    private ITimer? _sweeper;
    private bool _disposed;

    /// <summary>How many processes are live (for diagnostics and tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _processes.Count;
            }
        }
    }

    /// <summary>The pid of the live process holding <paramref name="sessionId"/>, if any (for diagnostics and tests).</summary>
    public int? ProcessIdOf(string sessionId)
    {
        lock (_lock)
        {
            return _processes.TryGetValue(sessionId, out var process) && process.IsAlive ? process.Id : null;
        }
    }

    /// <summary>
    /// The idle live process of <paramref name="sessionId"/>, now held by the caller (give it back with <see cref="ReturnAsync"/>);
    /// null when there is none (a dead one is dropped). <paramref name="busy"/> says that a turn already holds it.
    /// </summary>
    internal ClaudeStreamProcess? TryTake(string sessionId, out bool busy)
    {
        ClaudeStreamProcess? dead = null;
        busy = false;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_processes.TryGetValue(sessionId, out var process))
            {
                return null;
            }

            if (process.Busy)
            {
                busy = true;
                return null;
            }

            if (process.IsAlive)
            {
                process.Busy = true;
                return process;
            }

            _processes.Remove(sessionId);
            dead = process;
        }

        EndInBackground(dead, "it exited between turns");
        return null;
    }

    /// <summary>
    /// Starts a process for a turn, held by the caller, after making room: while <see cref="WorkerOptions.ClaudeProcesses"/> are live
    /// the least recently used idle one is ended. If all are busy (more turns than workers) it starts anyway. A process already
    /// kept under the same <paramref name="key"/> is replaced.
    /// </summary>
    internal async Task<(ClaudeStreamProcess? Process, string? Error)> StartAsync(
        string key, string? sessionId, CliCommand command, string model, ClaudeProcessSettings settings)
    {
        await MakeRoomAsync();
        var (child, error) = ChildProcess.TryStart(command, ownProcessGroup: true, logger, timeProvider);
        if (child is null)
        {
            return (null, error);
        }

        var process = new ClaudeStreamProcess(child, key, sessionId, model, settings, logger) { Busy = true };
        ClaudeStreamLog.Started(logger, process.Id, sessionId);
        await AddAsync(process);
        return (process, null);
    }

    /// <summary>Takes a process started elsewhere (a spare a turn adopted, see <see cref="ClaudeSpares"/>), held by the caller, after making room.</summary>
    internal async Task AdoptAsync(ClaudeStreamProcess process)
    {
        await MakeRoomAsync();
        process.Busy = true;
        await AddAsync(process);
    }

    /// <summary>Gives a process back after a turn: kept idle for the session's next turn if <paramref name="keep"/>, else ended.</summary>
    internal async Task ReturnAsync(ClaudeStreamProcess process, bool keep, string reason)
    {
        lock (_lock)
        {
            var registered = _processes.TryGetValue(process.Key, out var current) && ReferenceEquals(current, process);
            if (keep && registered && !_disposed && process.IsAlive)
            {
                process.Busy = false;
                process.LastUsed = timeProvider.GetTimestamp();
                return;
            }

            if (registered)
            {
                _processes.Remove(process.Key);
            }
        }

        await process.EndAsync(reason);
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> ending;
        lock (_lock)
        {
            _disposed = true;
            _sweeper?.Dispose();
            ending = [.. _ending, .. _processes.Values.Select(p => p.EndAsync("the node is shutting down"))];
            _processes.Clear();
        }

        await Task.WhenAll(ending);
    }

    /// <summary>For a synchronous container dispose: kills every process group without waiting.</summary>
    public void Dispose()
    {
        List<ClaudeStreamProcess> processes;
        lock (_lock)
        {
            _disposed = true;
            _sweeper?.Dispose();
            processes = [.. _processes.Values];
            _processes.Clear();
        }

        foreach (var process in processes)
        {
            process.Kill();
        }
    }

    /// <summary>Keeps a busy process under its key (replacing one kept there); ends it and throws if the pool is disposed.</summary>
    private async Task AddAsync(ClaudeStreamProcess process)
    {
        ClaudeStreamProcess? replaced;
        bool disposed;
        lock (_lock)
        {
            disposed = _disposed;
            _processes.Remove(process.Key, out replaced);
            if (!disposed)
            {
                _processes[process.Key] = process;
                EnsureSweeper();
            }
        }

        if (replaced is not null)
        {
            EndInBackground(replaced, "replaced by a new process for the same session");
        }

        if (disposed)
        {
            await process.EndAsync("the node is shutting down");
            throw new ObjectDisposedException(nameof(ClaudeProcessPool));
        }
    }

    private async Task MakeRoomAsync()
    {
        var limit = workerOptions.CurrentValue.ClaudeProcesses;
        while (true)
        {
            ClaudeStreamProcess? victim;
            lock (_lock)
            {
                if (_processes.Count < limit)
                {
                    return;
                }

                victim = _processes.Values.Where(p => !p.Busy).MinBy(p => p.LastUsed);
                if (victim is null)
                {
                    return;
                }

                _processes.Remove(victim.Key);
            }

            await victim.EndAsync($"making room: Workers:ClaudeProcesses ({limit}) are live and it was used least recently");
        }
    }

    /// <summary>Starts the idle sweep with the first process; it checks twice per <see cref="WorkerOptions.ProcessIdleTimeout"/> (within 0.5 s–1 min).</summary>
    private void EnsureSweeper()
    {
        if (_sweeper is not null)
        {
            return;
        }

        var period = SweepPeriod(workerOptions.CurrentValue.ProcessIdleTimeout);
        _sweeper = timeProvider.CreateTimer(_ => EndIdle(), null, period, period);
    }

    /// <summary>How often to look for processes idle for <paramref name="idleTimeout"/>: twice per it, within 0.5 s–1 min.</summary>
    internal static TimeSpan SweepPeriod(TimeSpan idleTimeout) =>
        TimeSpan.FromTicks(Math.Clamp(idleTimeout.Ticks / 2, TimeSpan.FromSeconds(0.5).Ticks, TimeSpan.FromMinutes(1).Ticks));

    private void EndIdle()
    {
        var idleTimeout = workerOptions.CurrentValue.ProcessIdleTimeout;
        List<ClaudeStreamProcess> idle;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            idle = _processes.Values.Where(p => !p.Busy && timeProvider.GetElapsedTime(p.LastUsed) >= idleTimeout).ToList();
            foreach (var process in idle)
            {
                _processes.Remove(process.Key);
            }
        }

        foreach (var process in idle)
        {
            EndInBackground(process, $"idle for {idleTimeout} (Workers:ProcessIdleTimeout)");
        }
    }

    /// <summary>Ends a process nobody waits for; disposing the pool still waits for it.</summary>
    private void EndInBackground(ClaudeStreamProcess process, string reason)
    {
        var task = process.EndAsync(reason);
        lock (_lock)
        {
            _ending.RemoveAll(t => t.IsCompleted);
            _ending.Add(task);
        }
    }
}
