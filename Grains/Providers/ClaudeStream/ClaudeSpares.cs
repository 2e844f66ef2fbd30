using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>
/// Claude Code processes started ahead of any turn, so that a new conversation's first turn does not wait for Claude's start:
/// <see cref="WorkerOptions.ClaudeSpares"/> for new stored sessions (<c>--session-id</c>) and as many for one-shot <c>store:false</c>
/// turns (<c>--no-session-persistence</c>). Each runs in a new directory <c>claude-{uuid}</c> under the work root (Claude keeps a
/// session's files per directory, so the conversation that takes one moves there) with the server's permission settings and the
/// model of the last new session (Claude's default at first). It is not initialized: the turn that takes it sends <c>initialize</c>
/// with its instructions and schema, then <c>set_model</c> if needed. A turn that asks for a reasoning effort, or whose conversation
/// already has a directory, starts its own process. A taken spare is replaced at once; a dead one, or one older than
/// <see cref="WorkerOptions.ProcessIdleTimeout"/>, is replaced by the sweep. Filled at node start (<c>Workers:Prewarm</c>, see
/// <see cref="ClaudeSparesPrewarmer"/>) or else after the first turn that looked for one; disposing ends them and removes their directories.
/// </summary>
public sealed class ClaudeSpares(
    IOptionsMonitor<CliOptions> cliOptions,
    IOptionsMonitor<WorkerOptions> workerOptions,
    IOptions<ConversationOptions> conversationOptions,
    ClaudePrintRunner printRunner,
    ILogger<ClaudeSpares> logger,
    TimeProvider timeProvider) : IAsyncDisposable
{
    /// <summary>The prefix of a spare's directory under the work root.</summary>
    public const string DirectoryPrefix = "claude-";

    private readonly Lock _lock = new();
    private readonly List<Spare> _spares = [];
    private readonly List<Task> _ending = [];
    private Task _filling = Task.CompletedTask;
    private ITimer? _sweeper;
    private string? _model;
    private bool _disposed;

    /// <summary>How many spares are ready (for diagnostics and tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _spares.Count;
            }
        }
    }

    /// <summary>The pids of the ready spares (for diagnostics and tests).</summary>
    public IReadOnlyList<int> ProcessIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _spares.Select(s => s.Process.Id)];
            }
        }
    }

    /// <summary>The directories of the ready spares (for diagnostics and tests).</summary>
    public IReadOnlyList<string> Directories
    {
        get
        {
            lock (_lock)
            {
                return [.. _spares.Select(s => s.Process.Settings.WorkingDirectory)];
            }
        }
    }

    private string? Root => conversationOptions.Value.WorkDirectory is { } root ? Path.GetFullPath(root) : null;

    /// <summary>
    /// Starts spares until each kind has <see cref="WorkerOptions.ClaudeSpares"/>; the task ends when they are started (not yet
    /// loaded: a turn that takes one meanwhile waits for the rest of its start). Runs one fill at a time.
    /// </summary>
    public Task FillAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return Task.CompletedTask;
            }

            return _filling = _filling.ContinueWith(_ => FillLogged(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A live spare that can run <paramref name="turn"/> (fresh directory under the work root, no reasoning effort, same CLI and
    /// server settings), now owned by the caller, who must initialize it (<see cref="ClaudeStreamRunner"/>) or end it; null when
    /// there is none. Starts its replacement either way.
    /// </summary>
    internal ClaudeStreamProcess? TryTake(CliTurn turn, string executable)
    {
        if (workerOptions.CurrentValue.ClaudeSpares == 0 || !turn.FreshWorkingDirectory || turn.ReasoningEffort is not null
            || Root is not { } root || !string.Equals(Path.GetDirectoryName(turn.WorkingDirectory), root, StringComparison.Ordinal))
        {
            return null;
        }

        var recipe = Recipe.For(turn.Ephemeral, executable, root, cliOptions.CurrentValue, printRunner);
        Spare? taken = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _model = turn.Model;
            var index = _spares.FindIndex(s => s.Recipe == recipe && s.Process.IsAlive);
            if (index >= 0)
            {
                taken = _spares[index];
                _spares.RemoveAt(index);
            }
        }

        _ = FillAsync();
        if (taken is null)
        {
            return null;
        }

        ClaudeStreamLog.SpareTaken(logger, taken.Process.Id, taken.Process.SessionId, timeProvider.GetElapsedTime(taken.Process.LastUsed));
        return taken.Process;
    }

    /// <summary>Ends a taken spare that could not be initialized, and removes its directory.</summary>
    internal static async Task DiscardAsync(ClaudeStreamProcess process, string reason)
    {
        await process.EndAsync(reason);
        DeleteDirectory(process.Settings.WorkingDirectory);
    }

    /// <summary>Removes the directory of an ended spare if no session is kept there and its turn left nothing in it.</summary>
    internal static void RemoveIfEmpty(string directory)
    {
        try
        {
            if (!Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Spare> spares;
        Task filling;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _sweeper?.Dispose();
            spares = [.. _spares];
            _spares.Clear();
            filling = _filling;
        }

        // A fill still running ends what it starts once it sees the disposal (see Fill), so only those endings are left to wait for.
        await filling;
        List<Task> ending;
        lock (_lock)
        {
            ending = [.. _ending];
        }

        await Task.WhenAll([.. ending, .. spares.Select(s => DiscardAsync(s.Process, "the node is shutting down"))]);
    }

    private void FillLogged()
    {
        try
        {
            Fill();
        }
        catch (Exception e)
        {
            // A background fill must not fault the chain of fills; the next turn or sweep tries again.
            ClaudeStreamLog.SpareStartFailed(logger, e.Message);
        }
    }

    private void Fill()
    {
        var target = workerOptions.CurrentValue.ClaudeSpares;
        foreach (var ephemeral in (bool[])[false, true])
        {
            while (true)
            {
                var cli = cliOptions.CurrentValue;
                var executable = CliExecutableLocator.Resolve(CliProvider.Claude, cli.ClaudePath);
                string? model;
                lock (_lock)
                {
                    if (_disposed || Root is null || executable.Path is null
                        || _spares.Count(s => s.Recipe.Settings.Ephemeral == ephemeral && s.Process.IsAlive) >= target)
                    {
                        break;
                    }

                    model = _model;
                }

                var recipe = Recipe.For(ephemeral, executable.Path, Root, cli, printRunner);
                if (Start(recipe, model) is not { } spare)
                {
                    break;
                }

                lock (_lock)
                {
                    if (!_disposed)
                    {
                        _spares.Add(spare);
                        EnsureSweeper();
                        continue;
                    }
                }

                EndInBackground(spare, "the node is shutting down");
                break;
            }
        }
    }

    private Spare? Start(Recipe recipe, string? model)
    {
        var directory = Path.Combine(recipe.Settings.WorkingDirectory, DirectoryPrefix + Guid.NewGuid().ToString("N"));
        var sessionId = recipe.Settings.Ephemeral ? null : Guid.NewGuid().ToString();
        var settings = recipe.Settings with { WorkingDirectory = directory };
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ClaudeStreamLog.SpareStartFailed(logger, $"its directory {directory} could not be made: {e.Message}");
            return null;
        }

        var command = new CliCommand(CliProvider.Claude, recipe.Executable, ClaudeArguments.Build(model, null, sessionId, settings), directory,
            printRunner.BuildEnvironment(cliOptions.CurrentValue));
        var (child, error) = ChildProcess.TryStart(command, ownProcessGroup: true, logger, timeProvider);
        if (child is null)
        {
            DeleteDirectory(directory);
            ClaudeStreamLog.SpareStartFailed(logger, $"the Claude Code CLI {error}");
            return null;
        }

        var key = sessionId ?? $"one-shot {Guid.NewGuid()}";
        var process = new ClaudeStreamProcess(child, key, sessionId, model, settings, logger) { LastUsed = timeProvider.GetTimestamp() };
        ClaudeStreamLog.SpareStarted(logger, process.Id, sessionId, directory);
        return new Spare(process, recipe);
    }

    /// <summary>Starts the sweep with the first spare; it checks twice per <see cref="WorkerOptions.ProcessIdleTimeout"/> (within 0.5 s–1 min).</summary>
    private void EnsureSweeper()
    {
        if (_sweeper is not null)
        {
            return;
        }

        var period = ClaudeProcessPool.SweepPeriod(workerOptions.CurrentValue.ProcessIdleTimeout);
        _sweeper = timeProvider.CreateTimer(_ => Sweep(), null, period, period);
    }

    /// <summary>Replaces spares that died or are older than <see cref="WorkerOptions.ProcessIdleTimeout"/> (so no process idles for longer).</summary>
    private void Sweep()
    {
        var maximumAge = workerOptions.CurrentValue.ProcessIdleTimeout;
        List<Spare> old;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            old = _spares.Where(s => !s.Process.IsAlive || timeProvider.GetElapsedTime(s.Process.LastUsed) >= maximumAge).ToList();
            _spares.RemoveAll(old.Contains);
        }

        if (old.Count == 0)
        {
            return;
        }

        foreach (var spare in old)
        {
            EndInBackground(spare, spare.Process.IsAlive ? $"a spare unused for {maximumAge} (Workers:ProcessIdleTimeout) is replaced" : "a spare that exited is replaced");
        }

        _ = FillAsync();
    }

    private void EndInBackground(Spare spare, string reason)
    {
        var task = DiscardAsync(spare.Process, reason);
        lock (_lock)
        {
            _ending.RemoveAll(t => t.IsCompleted);
            _ending.Add(task);
        }
    }

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private sealed record Spare(ClaudeStreamProcess Process, Recipe Recipe);

    /// <summary>
    /// What a spare is started with, which a turn must match to take it: the executable, the environment (joined) and the settings
    /// with the work root as directory and no instructions, effort or schema.
    /// </summary>
    private sealed record Recipe(string Executable, string Environment, ClaudeProcessSettings Settings)
    {
        public static Recipe For(bool ephemeral, string executable, string root, CliOptions cli, ClaudePrintRunner printRunner) => new(
            executable,
            string.Join('\n', printRunner.BuildEnvironment(cli).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}")),
            new ClaudeProcessSettings(root, null, null, null, ephemeral, cli.ClaudePermissionMode, cli.ClaudeTools, string.Join('\n', cli.ClaudeAllowedTools)));
    }
}
