using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>
/// A node's cache in front of the shared directory (Orleans' <c>CachedGrainLocator</c>): lookups are answered from a bounded
/// least-recently-used cache, and entries are dropped when membership says their node is dead (<see cref="OnMembershipChanged"/>),
/// when a call finds the activation gone (<see cref="Invalidate"/>), or on unregister. A cached entry can be stale for up to one
/// membership refresh; callers that reach a stale owner invalidate it and look up again.
/// </summary>
public sealed class CachedGrainDirectory : IGrainDirectory
{
    private readonly IGrainDirectory _inner;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<GrainId, LinkedListNode<GrainDirectoryEntry>> _entries = [];
    private readonly LinkedList<GrainDirectoryEntry> _recency = new();
    // Bumped by every invalidation: a lookup that started before one must not put back what it removed.
    private long _generation;

    public CachedGrainDirectory(IGrainDirectory inner, IOptions<GrainDirectoryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Value.DirectoryCacheSize, 1);
        _inner = inner;
        _capacity = options.Value.DirectoryCacheSize;
    }

    /// <summary>How many entries are cached now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public async Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        var generation = Volatile.Read(ref _generation);
        var winner = await _inner.RegisterAsync(entry, cancellationToken).ConfigureAwait(false);
        Put(winner, generation);
        return winner;
    }

    public async Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        long generation;
        lock (_lock)
        {
            if (_entries.TryGetValue(grainId, out var cached))
            {
                _recency.Remove(cached);
                _recency.AddFirst(cached);
                return cached.Value;
            }

            generation = _generation;
        }

        var entry = await _inner.LookupAsync(grainId, cancellationToken).ConfigureAwait(false);
        if (entry is not null)
        {
            Put(entry, generation);
        }

        return entry;
    }

    public async Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var removed = await _inner.UnregisterAsync(entry, cancellationToken).ConfigureAwait(false);
        Remove(entry.GrainId, e => e == entry);
        return removed;
    }

    public async Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default)
    {
        var removed = await _inner.RemoveEntriesOfAsync(node, cancellationToken).ConfigureAwait(false);
        InvalidateNode(node);
        return removed;
    }

    /// <summary>Forgets where a grain is, e.g. after its cached node answered that it has no such activation.</summary>
    public void Invalidate(GrainId grainId) => Remove(grainId, _ => true);

    /// <summary>Forgets every entry of a node incarnation.</summary>
    public void InvalidateNode(NodeAddress node) => RemoveWhere(e => e.Node == node);

    /// <summary>Drops every entry whose node is dead or missing in the new membership; subscribe it to <see cref="MembershipAgent.MembershipChanged"/>.</summary>
    public void OnMembershipChanged(MembershipSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        RemoveWhere(e => !snapshot.IsLive(e.Node));
    }

    private void Put(GrainDirectoryEntry entry, long generation)
    {
        lock (_lock)
        {
            if (_generation != generation)
            {
                return;
            }

            if (_entries.Remove(entry.GrainId, out var existing))
            {
                _recency.Remove(existing);
            }

            _entries[entry.GrainId] = _recency.AddFirst(entry);
            while (_entries.Count > _capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.GrainId);
            }
        }
    }

    private void Remove(GrainId grainId, Func<GrainDirectoryEntry, bool> predicate)
    {
        lock (_lock)
        {
            _generation++;
            if (_entries.TryGetValue(grainId, out var node) && predicate(node.Value))
            {
                _entries.Remove(grainId);
                _recency.Remove(node);
            }
        }
    }

    private void RemoveWhere(Func<GrainDirectoryEntry, bool> predicate)
    {
        lock (_lock)
        {
            _generation++;
            var node = _recency.First;
            while (node is not null)
            {
                var next = node.Next;
                if (predicate(node.Value))
                {
                    _recency.Remove(node);
                    _entries.Remove(node.Value.GrainId);
                }

                node = next;
            }
        }
    }
}
