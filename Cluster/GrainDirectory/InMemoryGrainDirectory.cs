using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>
/// The grain directory of a single-node process, in memory, judged against an <see cref="InMemoryMembershipTable"/>, with the
/// same rules as <see cref="PostgresGrainDirectory"/>.
/// </summary>
public sealed class InMemoryGrainDirectory(InMemoryMembershipTable membership) : IGrainDirectory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<GrainId, GrainDirectoryEntry> _entries = [];

    public Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            if (_entries.TryGetValue(entry.GrainId, out var existing) && IsLive(existing.Node))
            {
                return Task.FromResult(existing);
            }

            _entries[entry.GrainId] = entry;
            return Task.FromResult(entry);
        }
    }

    public Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_entries.TryGetValue(grainId, out var entry) && IsLive(entry.Node) ? entry : null);
        }
    }

    public Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            // The same condition as the SQL: owner incarnation and activation id, whatever endpoint the caller carries.
            var mine = _entries.TryGetValue(entry.GrainId, out var existing) && existing.Node == entry.Node && existing.ActivationId == entry.ActivationId;
            return Task.FromResult(mine && _entries.Remove(entry.GrainId));
        }
    }

    public Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (IsLive(node))
            {
                return Task.FromResult(0);
            }

            var removed = _entries.Values.Where(e => e.Node == node).Select(e => e.GrainId).ToList();
            foreach (var grainId in removed)
            {
                _entries.Remove(grainId);
            }

            return Task.FromResult(removed.Count);
        }
    }

    private bool IsLive(NodeAddress node) => membership.GetStatus(node) is { } status && status != NodeStatus.Dead;
}
