using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Membership;

/// <summary>Who this node is in membership: its stable id, where peers reach it, the machine it runs on and what it declares for placement.</summary>
/// <param name="NodeId">Stable across restarts; each process start is a new incarnation of it.</param>
/// <param name="Endpoint">Where other nodes reach it (its internal URL).</param>
/// <param name="HostName">The machine it runs on, for operators.</param>
/// <param name="Metadata">
/// What placement may match on (<see cref="MembershipEntry.Metadata"/>), e.g. <c>providers</c> = <c>codex,claude</c>; written when
/// the node joins. Null means none.
/// </param>
public sealed record NodeIdentity(string NodeId, string Endpoint, string HostName, IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>Why a node stopped being a member without leaving.</summary>
public enum SelfDeathReason
{
    /// <summary>Another node declared it dead (its heartbeats stopped reaching the database in time).</summary>
    DeclaredDead,

    /// <summary>A newer incarnation of the same node id joined: this process is a leftover of an earlier start.</summary>
    Superseded,

    /// <summary>Its row is gone from the table (cleaned up after it was declared dead).</summary>
    Removed,
}

/// <summary>Raised once when the node finds it is no longer a live member; the host must stop serving at once.</summary>
public sealed class SelfDeclaredDeadEventArgs(NodeAddress address, SelfDeathReason reason, NodeAddress? supersededBy) : EventArgs
{
    public NodeAddress Address { get; } = address;

    public SelfDeathReason Reason { get; } = reason;

    /// <summary>The newer incarnation, when <see cref="Reason"/> is <see cref="SelfDeathReason.Superseded"/>.</summary>
    public NodeAddress? SupersededBy { get; } = supersededBy;
}

/// <summary>
/// Keeps one node in the membership table (Orleans' <c>MembershipAgent</c> and <c>MembershipTableManager</c>, with heartbeat-age
/// failure detection instead of probes). <see cref="JoinAsync"/> inserts a new incarnation as Joining, marks older incarnations
/// of the same node id dead, and goes Active; then every <see cref="MembershipOptions.HeartbeatPeriod"/> (on the injected
/// <see cref="TimeProvider"/>) it heartbeats (with the node's load from <see cref="INodeLoad"/>), reads the table, declares dead
/// every peer whose heartbeat is older than <see cref="MembershipOptions.DeathTimeout"/> by the database clock, and checks that it
/// is itself still alive. <see cref="Snapshot"/> is replaced by every read, so it shows current loads even though heartbeats do
/// not change the version (and so do not raise <see cref="MembershipChanged"/>). Processes that do not join use a
/// <see cref="MembershipObserver"/> instead. Events are raised on the agent's own loop while it holds its lock: handlers must be
/// quick and must not wait for the agent.
/// </summary>
public sealed class MembershipAgent : IMembershipView, IAsyncDisposable
{
    // Compare-and-swap conflicts only come from other membership writes, which are rare; this many in a row means something is wrong.
    private const int MaxWriteAttempts = 20;

    private readonly IMembershipTable _table;
    private readonly NodeIdentity _identity;
    private readonly MembershipOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<MembershipAgent> _logger;
    private readonly INodeLoad? _nodeLoad;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private NodeAddress? _address;
    private volatile MembershipSnapshot? _snapshot;
    private volatile int _status = -1;
    private int _selfDeathRaised;
    private double _lastLoad;
    private bool _loadFaultLogged;
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the agent of one node; nothing is written until <see cref="JoinAsync"/>.</summary>
    /// <param name="table">The cluster's membership table.</param>
    /// <param name="identity">Who this node is.</param>
    /// <param name="options">Cluster id, heartbeat period, death timeout.</param>
    /// <param name="timeProvider">The node's clock, which drives the heartbeat timer (never used to judge heartbeat ages).</param>
    /// <param name="logger">Where joins, deaths and failed rounds are logged.</param>
    /// <param name="nodeLoad">Supplies the load sent with each heartbeat; null reports 0.</param>
    public MembershipAgent(
        IMembershipTable table,
        NodeIdentity identity,
        IOptions<MembershipOptions> options,
        TimeProvider timeProvider,
        ILogger<MembershipAgent> logger,
        INodeLoad? nodeLoad = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentException.ThrowIfNullOrWhiteSpace(identity.NodeId);
        _table = table;
        _identity = identity;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _nodeLoad = nodeLoad;
    }

    /// <summary>This process's incarnation; set by <see cref="JoinAsync"/>.</summary>
    public NodeAddress Address => _address ?? throw new InvalidOperationException("The node has not joined the cluster yet.");

    /// <summary>This node's status as last written or read; null before <see cref="JoinAsync"/>.</summary>
    public NodeStatus? Status => _status < 0 ? null : (NodeStatus)_status;

    /// <summary>The latest membership read, replaced by every read (so loads are current); null before <see cref="JoinAsync"/>.</summary>
    public MembershipSnapshot? Snapshot => _snapshot;

    /// <summary>
    /// Raised after a read that found a new table version (a join, a status change, a death): directory caches drop entries of
    /// dead nodes. Not raised for heartbeats or load changes. A handler that throws is logged; the others still run.
    /// </summary>
    public event EventHandler<MembershipSnapshot>? MembershipChanged;

    /// <summary>Raised once when this node finds itself dead or superseded; the host must stop serving at once (Orleans fails fast).</summary>
    public event EventHandler<SelfDeclaredDeadEventArgs>? SelfDeclaredDead;

    /// <summary>
    /// Joins as a new incarnation (Joining, then Active) and starts heartbeating. Older incarnations of the same node id are
    /// declared dead right away, so grains they held are placed again without waiting for the death timeout.
    /// </summary>
    public async Task JoinAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_address is not null)
            {
                throw new InvalidOperationException($"The node already joined as {_address}.");
            }

            NodeAddress? address = null;
            await WriteWithRetryAsync("insert", async snapshot =>
            {
                // The database clock makes incarnations grow across restarts; +1 covers a clock that stepped back.
                var newest = snapshot.Members.Where(m => m.Address.NodeId == _identity.NodeId).Select(m => m.Address.Incarnation).DefaultIfEmpty(0).Max();
                var candidate = new NodeAddress(_identity.NodeId, Math.Max(snapshot.DatabaseNow.ToUnixTimeMilliseconds(), newest + 1));
                var entry = new MembershipEntry(candidate, _identity.Endpoint, _identity.HostName, NodeStatus.Joining)
                {
                    Metadata = _identity.Metadata ?? new Dictionary<string, string>(),
                    Load = ReadLoad(),
                };
                var inserted = await _table.InsertRowAsync(entry, snapshot.Version, cancellationToken).ConfigureAwait(false);
                if (inserted)
                {
                    address = candidate;
                }

                return inserted;
            }, cancellationToken).ConfigureAwait(false);
            _address = address!.Value;
            _status = (int)NodeStatus.Joining;

            await SupersedeOlderIncarnationsAsync(cancellationToken).ConfigureAwait(false);
            await CleanupDefunctEntriesAsync(cancellationToken).ConfigureAwait(false);
            await ChangeOwnStatusAsync(NodeStatus.Active, cancellationToken).ConfigureAwait(false);
            await ReadAndCheckAsync(cancellationToken).ConfigureAwait(false);
            _logger.Joined(_options.ClusterId, Address, _identity.Endpoint);

            // Created here, not in the loop, so the first period counts from the join on the injected clock.
            var timer = new PeriodicTimer(_options.HeartbeatPeriod, _timeProvider);
            _loop = RunAsync(timer, _stopping.Token);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// One round of what the timer does every heartbeat period: heartbeat with the current load, read the table (replacing
    /// <see cref="Snapshot"/>), notice own death, declare stale peers dead. Exposed so the host (and tests) can refresh on demand,
    /// e.g. after a call failed against a peer.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_address is null || Status == NodeStatus.Dead)
            {
                return;
            }

            // A refused heartbeat means our row is dead or gone; the read below finds out which and raises the event.
            await _table.UpdateHeartbeatAsync(Address, ReadLoad(), cancellationToken).ConfigureAwait(false);
            var snapshot = await ReadAndCheckAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot is not null)
            {
                await DeclareStalePeersDeadAsync(snapshot, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Marks this node ShuttingDown: peers stop placing grains here while it finishes its calls; it keeps heartbeating.</summary>
    public async Task BeginShutdownAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Status is NodeStatus.Joining or NodeStatus.Active)
            {
                await ChangeOwnStatusAsync(NodeStatus.ShuttingDown, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Leaves the cluster: marks this incarnation Dead (its directory entries become invalid) and stops heartbeating.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Status is null or NodeStatus.Dead)
            {
                return;
            }

            await ChangeOwnStatusAsync(NodeStatus.Dead, cancellationToken).ConfigureAwait(false);
            _logger.Left(Address);
        }
        finally
        {
            _gate.Release();
        }

        await StopLoopAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the timer without writing anything, like a crash would; peers declare the node dead once its heartbeat is stale.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using (timer)
        {
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    try
                    {
                        await RefreshAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // The database may be briefly unreachable; peers judge us by our heartbeats, so keep trying every period.
                        _logger.RoundFailed(ex, _address);
                    }

                    if (Status == NodeStatus.Dead)
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>The load to report: the source's current value, or the last good one if the source fails or reports nonsense.</summary>
    private double ReadLoad()
    {
        if (_nodeLoad is null)
        {
            return 0;
        }

        double load;
        try
        {
            load = _nodeLoad.CurrentLoad;
        }
        catch (Exception ex)
        {
            LogLoadFault(ex, double.NaN);
            return _lastLoad;
        }

        if (!double.IsFinite(load) || load < 0)
        {
            LogLoadFault(null, load);
            return _lastLoad;
        }

        _lastLoad = load;
        _loadFaultLogged = false;
        return load;
    }

    private void LogLoadFault(Exception? exception, double value)
    {
        // Once per run of faults: the source is read every period and one warning says all there is to say.
        if (!_loadFaultLogged)
        {
            _loadFaultLogged = true;
            _logger.LoadSourceFailed(exception, value, _lastLoad);
        }
    }

    /// <summary>Reads the table, raises <see cref="MembershipChanged"/> on a new version, and returns null if this node is no longer alive.</summary>
    private async Task<MembershipSnapshot?> ReadAndCheckAsync(CancellationToken cancellationToken)
    {
        var snapshot = await _table.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var previous = _snapshot;
        _snapshot = snapshot;
        if (previous is null || previous.Version != snapshot.Version)
        {
            MembershipEvents.Raise(this, MembershipChanged, snapshot, _logger);
        }

        var address = Address;
        var newer = snapshot.Members
            .Where(m => m.Address.NodeId == address.NodeId && m.Address.Incarnation > address.Incarnation)
            .MaxBy(m => m.Address.Incarnation)?.Address;
        var own = snapshot.Find(address);
        SelfDeathReason? reason = newer is not null ? SelfDeathReason.Superseded
            : own is null ? SelfDeathReason.Removed
            : own.Status == NodeStatus.Dead && Status != NodeStatus.Dead ? SelfDeathReason.DeclaredDead
            : null;
        if (reason is null)
        {
            if (own is not null && Status != NodeStatus.Dead)
            {
                _status = (int)own.Status;
            }

            return snapshot;
        }

        _status = (int)NodeStatus.Dead;
        if (Interlocked.Exchange(ref _selfDeathRaised, 1) == 0)
        {
            _logger.SelfDeclaredDead(address, reason.Value, newer);
            MembershipEvents.Raise(this, SelfDeclaredDead, new SelfDeclaredDeadEventArgs(address, reason.Value, newer), _logger);
        }

        return null;
    }

    private async Task DeclareStalePeersDeadAsync(MembershipSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Each success bumps the version, and a conflict means someone else wrote: either way re-read before the next one.
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var stale = snapshot.Members.FirstOrDefault(m =>
                m.Address != Address && m.Status != NodeStatus.Dead && snapshot.HeartbeatAge(m) > _options.DeathTimeout);
            if (stale is null)
            {
                return;
            }

            if (await _table.DeclareDeadAsync(stale.Address, _options.DeathTimeout, snapshot.Version, cancellationToken).ConfigureAwait(false))
            {
                _logger.DeclaredDead(stale.Address, snapshot.HeartbeatAge(stale), _options.DeathTimeout);
            }

            if (await ReadAndCheckAsync(cancellationToken).ConfigureAwait(false) is not { } next)
            {
                return;
            }

            snapshot = next;
        }
    }

    private async Task SupersedeOlderIncarnationsAsync(CancellationToken cancellationToken)
    {
        var address = Address;
        await WriteWithRetryAsync("supersede", async snapshot =>
        {
            var older = snapshot.Members.FirstOrDefault(m =>
                m.Address.NodeId == address.NodeId && m.Address.Incarnation < address.Incarnation && m.Status != NodeStatus.Dead);
            if (older is null)
            {
                return true;
            }

            if (await _table.DeclareDeadAsync(older.Address, TimeSpan.Zero, snapshot.Version, cancellationToken).ConfigureAwait(false))
            {
                _logger.SupersededOlderIncarnation(older.Address, address);
            }

            // Re-read and look again: there may be several, and a conflict needs a fresh version anyway.
            return false;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task CleanupDefunctEntriesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var removed = await _table.CleanupDefunctEntriesAsync(_options.DefunctEntryExpiration, cancellationToken).ConfigureAwait(false);
            if (removed > 0)
            {
                _logger.DefunctEntriesRemoved(removed, _options.DefunctEntryExpiration);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Housekeeping only: old rows are harmless, so a failure must not stop the node from joining.
            _logger.CleanupFailed(ex);
        }
    }

    private async Task ChangeOwnStatusAsync(NodeStatus status, CancellationToken cancellationToken)
    {
        var address = Address;
        await WriteWithRetryAsync($"status {status}", async snapshot =>
        {
            var own = snapshot.Find(address);
            if (own is null || own.Status == NodeStatus.Dead)
            {
                // Declared dead (or removed) behind our back: the check raises the event; the caller must not carry on.
                await ReadAndCheckAsync(cancellationToken).ConfigureAwait(false);
                if (status == NodeStatus.Dead)
                {
                    return true;
                }

                throw new InvalidOperationException($"Node {address} cannot become {status}: it was declared dead.");
            }

            var changed = await _table.UpdateRowAsync(own with { Status = status }, own.ETag, snapshot.Version, cancellationToken).ConfigureAwait(false);
            if (changed)
            {
                _status = (int)status;
            }

            return changed;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads and tries a compare-and-swap write until it succeeds (or reports there is nothing left to do).</summary>
    private async Task WriteWithRetryAsync(string operation, Func<MembershipSnapshot, Task<bool>> tryWrite, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxWriteAttempts; attempt++)
        {
            var snapshot = await _table.ReadAllAsync(cancellationToken).ConfigureAwait(false);
            if (await tryWrite(snapshot).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new InvalidOperationException(
            $"Membership {operation} of node {_identity.NodeId} in cluster {_options.ClusterId} lost {MaxWriteAttempts} compare-and-swap rounds in a row.");
    }
}

/// <summary>Membership log events; ids are stable so that operators can alert on them.</summary>
internal static partial class MembershipLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Joined cluster {ClusterId} as {Address} at {Endpoint}")]
    public static partial void Joined(this ILogger logger, string clusterId, NodeAddress address, string endpoint);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Declared {Address} dead: no heartbeat for {Age} (limit {DeathTimeout})")]
    public static partial void DeclaredDead(this ILogger logger, NodeAddress address, TimeSpan age, TimeSpan deathTimeout);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Critical, Message = "This node {Address} is no longer a live member ({Reason}, newer incarnation {SupersededBy}); it must stop serving")]
    public static partial void SelfDeclaredDead(this ILogger logger, NodeAddress address, SelfDeathReason reason, NodeAddress? supersededBy);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Membership round of {Address} failed; retrying next period")]
    public static partial void RoundFailed(this ILogger logger, Exception exception, NodeAddress? address);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Node {Address} left the cluster")]
    public static partial void Left(this ILogger logger, NodeAddress address);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Declared older incarnation {Older} dead: superseded by {Address}")]
    public static partial void SupersededOlderIncarnation(this ILogger logger, NodeAddress older, NodeAddress address);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Debug, Message = "Removed {Count} defunct membership rows older than {Expiration}")]
    public static partial void DefunctEntriesRemoved(this ILogger logger, int count, TimeSpan expiration);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "Removing defunct membership rows failed; they are kept")]
    public static partial void CleanupFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Error, Message = "A {EventType} handler threw; other handlers still ran")]
    public static partial void EventHandlerFailed(this ILogger logger, Exception exception, string eventType);

    [LoggerMessage(EventId = 1209, Level = LogLevel.Warning, Message = "The node load source failed or reported {Load}, which is not a finite number of at least 0; heartbeats carry the last good load {LastLoad} until it recovers")]
    public static partial void LoadSourceFailed(this ILogger logger, Exception? exception, double load, double lastLoad);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "Observing membership of cluster {ClusterId} (version {Version}, {ActiveCount} active members), reading every {Period}")]
    public static partial void ObserverStarted(this ILogger logger, string clusterId, long version, int activeCount, TimeSpan period);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "Reading the membership of cluster {ClusterId} failed; keeping the read of version {Version} and retrying next period")]
    public static partial void ObserverReadFailed(this ILogger logger, Exception exception, string clusterId, long? version);
}
