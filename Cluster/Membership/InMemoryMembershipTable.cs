namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// The membership table of a single-node process, in memory, with the same compare-and-swap semantics as
/// <see cref="PostgresMembershipTable"/>. Its "database clock" is the <see cref="TimeProvider"/> it is given.
/// </summary>
public sealed class InMemoryMembershipTable(TimeProvider timeProvider) : IMembershipTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<NodeAddress, MembershipEntry> _rows = [];
    private long _version;

    public Task<MembershipSnapshot> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var members = _rows.Values.OrderBy(m => m.Address.NodeId, StringComparer.Ordinal).ThenBy(m => m.Address.Incarnation).ToList();
            return Task.FromResult(new MembershipSnapshot(_version, timeProvider.GetUtcNow(), members));
        }
    }

    public Task<bool> InsertRowAsync(MembershipEntry entry, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        MembershipEntry.ValidateLoad(entry.Load, nameof(entry));
        lock (_lock)
        {
            if (_version != expectedVersion || _rows.ContainsKey(entry.Address))
            {
                return Task.FromResult(false);
            }

            var now = timeProvider.GetUtcNow();
            _rows.Add(entry.Address, entry with { ETag = 1, StartTime = now, LastHeartbeat = now });
            _version++;
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateRowAsync(MembershipEntry entry, long expectedETag, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            if (_version != expectedVersion || !_rows.TryGetValue(entry.Address, out var row) || row.ETag != expectedETag || row.Status == NodeStatus.Dead)
            {
                return Task.FromResult(false);
            }

            _rows[entry.Address] = row with
            {
                Status = entry.Status,
                Endpoint = entry.Endpoint,
                HostName = entry.HostName,
                Metadata = entry.Metadata,
                ETag = row.ETag + 1,
            };
            _version++;
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateHeartbeatAsync(NodeAddress address, double load, CancellationToken cancellationToken = default)
    {
        MembershipEntry.ValidateLoad(load);
        lock (_lock)
        {
            if (!_rows.TryGetValue(address, out var row) || row.Status == NodeStatus.Dead)
            {
                return Task.FromResult(false);
            }

            _rows[address] = row with { LastHeartbeat = timeProvider.GetUtcNow(), Load = load };
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeclareDeadAsync(NodeAddress address, TimeSpan minHeartbeatAge, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minHeartbeatAge, TimeSpan.Zero);
        lock (_lock)
        {
            if (_version != expectedVersion
                || !_rows.TryGetValue(address, out var row)
                || row.Status == NodeStatus.Dead
                || row.LastHeartbeat > timeProvider.GetUtcNow() - minHeartbeatAge)
            {
                return Task.FromResult(false);
            }

            _rows[address] = row with { Status = NodeStatus.Dead, ETag = row.ETag + 1 };
            _version++;
            return Task.FromResult(true);
        }
    }

    public Task<int> CleanupDefunctEntriesAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        lock (_lock)
        {
            var cutoff = timeProvider.GetUtcNow() - olderThan;
            var defunct = _rows.Values.Where(r => r.Status != NodeStatus.Active && r.LastHeartbeat <= cutoff).Select(r => r.Address).ToList();
            foreach (var address in defunct)
            {
                _rows.Remove(address);
            }

            return Task.FromResult(defunct.Count);
        }
    }

    /// <summary>The status of an incarnation right now, or null when it has no row (for the in-memory directory).</summary>
    internal NodeStatus? GetStatus(NodeAddress address)
    {
        lock (_lock)
        {
            return _rows.TryGetValue(address, out var row) ? row.Status : null;
        }
    }

    /// <summary>Test seam: makes a row's heartbeat older without moving the clock for everyone else.</summary>
    internal void MoveHeartbeatBack(NodeAddress address, TimeSpan by)
    {
        lock (_lock)
        {
            if (_rows.TryGetValue(address, out var row))
            {
                _rows[address] = row with { LastHeartbeat = row.LastHeartbeat - by };
            }
        }
    }
}
