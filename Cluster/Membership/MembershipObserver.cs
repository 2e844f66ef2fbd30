using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// The membership view of a process that is a pure client of the cluster: it routes calls to nodes but does not join, so it
/// never heartbeats, never declares anybody dead and never writes to the table (Orleans' client reading the gateway list).
/// <see cref="StartAsync"/> reads the table once; then every <see cref="MembershipOptions.HeartbeatPeriod"/> (on the injected
/// <see cref="TimeProvider"/>) it reads it again, replaces <see cref="Snapshot"/> and raises <see cref="MembershipChanged"/> when
/// the version moved, with the same meaning as <see cref="MembershipAgent.MembershipChanged"/>. A failed periodic read is
/// logged and the previous snapshot kept until the next period. Events are raised on the observer's loop while it holds its
/// lock: handlers must be quick and must not wait for the observer.
/// </summary>
public sealed class MembershipObserver : IMembershipView, IAsyncDisposable
{
    private readonly IMembershipTable _table;
    private readonly MembershipOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<MembershipObserver> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private volatile MembershipSnapshot? _snapshot;
    private bool _started;
    private volatile bool _disposed;
    private int _disposeStarted;
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the observer; nothing is read until <see cref="StartAsync"/> or <see cref="RefreshAsync"/>.</summary>
    /// <param name="table">The cluster's membership table; only <see cref="IMembershipTable.ReadAllAsync"/> is ever called.</param>
    /// <param name="options">The cluster id (for logs) and <see cref="MembershipOptions.HeartbeatPeriod"/>, the read period.</param>
    /// <param name="timeProvider">The clock that drives the read timer.</param>
    /// <param name="logger">Where failed reads and handler exceptions are logged.</param>
    public MembershipObserver(IMembershipTable table, IOptions<MembershipOptions> options, TimeProvider timeProvider, ILogger<MembershipObserver> logger)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _table = table;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The latest successful read; null until the first one finished.</summary>
    public MembershipSnapshot? Snapshot => _snapshot;

    /// <summary>
    /// Raised after a read that found a new table version (a join, a status change, a death), and after the first read. Not
    /// raised for heartbeats or load changes. A handler that throws is logged; the others still run.
    /// </summary>
    public event EventHandler<MembershipSnapshot>? MembershipChanged;

    /// <summary>
    /// Reads the table once and starts reading it every <see cref="MembershipOptions.HeartbeatPeriod"/>. If that first read fails
    /// the exception propagates and nothing is started, so the caller may retry (a client cannot route without membership).
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                throw new InvalidOperationException($"The membership observer of cluster {_options.ClusterId} is already started.");
            }

            var snapshot = await ReadAsync(cancellationToken).ConfigureAwait(false);
            _logger.ObserverStarted(_options.ClusterId, snapshot.Version, snapshot.ActiveMembers.Count(), _options.HeartbeatPeriod);

            // Created here, not in the loop, so the first period counts from the start on the injected clock.
            var timer = new PeriodicTimer(_options.HeartbeatPeriod, _timeProvider);
            _loop = RunAsync(timer, _stopping.Token);
            _started = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Reads the table now instead of waiting for the next period, e.g. after a call to a node failed. Works before
    /// <see cref="StartAsync"/> too; a failed read throws to the caller and leaves <see cref="Snapshot"/> as it was.
    /// </summary>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the periodic reads; <see cref="Snapshot"/> keeps the last read.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        _disposed = true;

        // Cancel first, so that a periodic read in progress gives up the lock; then wait for a start in progress to finish.
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task loop;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            loop = _loop;
        }
        finally
        {
            _gate.Release();
        }

        await loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using (timer)
        {
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await ReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // The database may be briefly unreachable; routing carries on with the last read meanwhile.
                        _logger.ObserverReadFailed(ex, _options.ClusterId, _snapshot?.Version);
                    }
                    finally
                    {
                        _gate.Release();
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>Reads the table, replaces the snapshot (always, so loads are current) and raises the event on a new version.</summary>
    private async Task<MembershipSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var snapshot = await _table.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var previous = _snapshot;
        _snapshot = snapshot;
        if (previous is null || previous.Version != snapshot.Version)
        {
            MembershipEvents.Raise(this, MembershipChanged, snapshot, _logger);
        }

        return snapshot;
    }
}
