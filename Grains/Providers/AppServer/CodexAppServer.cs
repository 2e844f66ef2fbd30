using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>
/// This node's one <c>codex app-server</c>, shared by every Codex turn of the node. One process, because a Codex thread can be
/// loaded by only one process at a time ("already has an active writer") while one process runs turns of different threads
/// concurrently; the worker pool bounds how many. It is started at node start-up by <see cref="CodexAppServerPrewarmer"/>, or else
/// by the first Codex turn (spawn and <c>initialize</c> cost ~0.1 s, once), replaced after it crashed or was killed (at once when
/// pre-warmed, else by the next turn; its threads then resume from their rollout files), and recycled when idle after it loaded <see cref="RecycleAfterThreads"/> threads:
/// Codex cannot unload a thread, and each keeps ~1.3 MB. Disposing ends the process group.
/// </summary>
public sealed class CodexAppServer(
    IOptionsMonitor<CliOptions> options,
    CodexExecRunner execRunner,
    ILogger<CodexAppServer> logger,
    TimeProvider timeProvider) : IAsyncDisposable, IDisposable
{
    /// <summary>Loaded threads after which an idle process is replaced by a fresh one.</summary>
    internal const int RecycleAfterThreads = 256;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CodexAppServerConnection? _current;
    private bool _disposed;

    /// <summary>The pid of the running app-server, if any (for diagnostics and tests).</summary>
    public int? ProcessId => Volatile.Read(ref _current) is { IsAlive: true } current ? current.ProcessId : null;

    /// <summary>
    /// A live connection with this turn counted on it (give it back with <see cref="CodexAppServerConnection.EndTurn"/>),
    /// starting the process if there is none.
    /// </summary>
    /// <exception cref="AppServerUnavailableException">Codex is not installed, or its app-server did not start.</exception>
    internal async Task<CodexAppServerConnection> AcquireAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _current) is { } current && current.LoadedThreadCount < RecycleAfterThreads && current.TryBeginTurn())
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            current = _current;
            if (current is not null)
            {
                if (current.IsAlive && (current.LoadedThreadCount < RecycleAfterThreads || !current.TryRetireIfIdle()) && current.TryBeginTurn())
                {
                    return current;
                }

                // Gone, or idle and full of threads: a crashed one is reaped (with what is left of its group) before threads move on.
                _current = null;
                if (current.IsAlive)
                {
                    AppServerLog.Recycling(logger, current.ProcessId, current.LoadedThreadCount);
                }

                await current.DisposeAsync();
            }

            var started = await StartAsync(cancellationToken);
            started.TryBeginTurn();
            Volatile.Write(ref _current, started);
            return started;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts the process if none is running; the returned task completes when the running process has ended.</summary>
    /// <exception cref="AppServerUnavailableException">Codex is not installed, or its app-server did not start.</exception>
    internal async Task<Task<string>> EnsureStartedAsync(CancellationToken cancellationToken)
    {
        var connection = await AcquireAsync(cancellationToken);
        connection.EndTurn();
        return connection.Exited;
    }

    /// <summary>
    /// Kills <paramref name="connection"/> (when a turn would not stop): its other turns fail, and the next turn starts a new
    /// process in which their threads resume.
    /// </summary>
    internal async Task RestartAsync(CodexAppServerConnection connection, string reason)
    {
        AppServerLog.Restarting(logger, connection.ProcessId, reason);
        await _gate.WaitAsync();
        try
        {
            if (ReferenceEquals(_current, connection))
            {
                _current = null;
            }
        }
        finally
        {
            _gate.Release();
        }

        await connection.KillAsync(reason);
        await connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        CodexAppServerConnection? current;
        try
        {
            _disposed = true;
            current = _current;
            _current = null;
        }
        finally
        {
            _gate.Release();
        }

        if (current is not null)
        {
            await current.DisposeAsync();
        }
    }

    /// <summary>For a synchronous container dispose: kills the process group without waiting.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _current, null)?.Dispose();
    }

    private async Task<CodexAppServerConnection> StartAsync(CancellationToken cancellationToken)
    {
        var cli = options.CurrentValue;
        var executable = CliExecutableLocator.ResolveCodex(cli.CodexPath);
        if (executable.Path is null)
        {
            throw new AppServerUnavailableException(executable.Problem!);
        }

        // The hardened switches of `codex exec` (no analytics, no plugin sync, no endless reconnects), whatever config.toml says.
        // The sandbox and approval policy are set per thread.
        string[] arguments =
        [
            "app-server",
            "-c", "analytics.enabled=false",
            "-c", "features.plugins=false",
            "-c", "features.unbounded_connection_retries=false",
        ];
        var command = new CliCommand(CliProvider.Codex, executable.Path, arguments, AppContext.BaseDirectory, execRunner.BuildEnvironment(cli));
        return await CodexAppServerConnection.StartAsync(command, cli.StatusCheckTimeout, logger, timeProvider, cancellationToken);
    }
}
