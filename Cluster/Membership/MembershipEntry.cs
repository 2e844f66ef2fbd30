using System.Collections.Frozen;
using System.Runtime.CompilerServices;

namespace OrleansCodex.Cluster.Membership;

/// <summary>Where a node incarnation is in its life; only moves forward, and <see cref="Dead"/> is final.</summary>
public enum NodeStatus
{
    /// <summary>Inserted, still starting: heartbeats, but takes no new grains yet.</summary>
    Joining,

    /// <summary>Serving calls and taking new activations.</summary>
    Active,

    /// <summary>Stopping gracefully: finishes the calls it has, takes no new activations, still heartbeats.</summary>
    ShuttingDown,

    /// <summary>Gone (declared dead or left); its directory entries are invalid. Never changes again.</summary>
    Dead,
}

/// <summary>
/// One incarnation of a node (Orleans' <c>SiloAddress</c>): the node id is stable across restarts, the incarnation is new for
/// every process start and larger than every earlier one of that node id.
/// </summary>
public readonly record struct NodeAddress(string NodeId, long Incarnation)
{
    public override string ToString() => $"{NodeId}@{Incarnation}";
}

/// <summary>
/// One row of the membership table. <see cref="StartTime"/>, <see cref="LastHeartbeat"/> and <see cref="ETag"/> are set by the
/// table (the database clock and a per-row version); values given to an insert or update are ignored.
/// </summary>
/// <remarks>
/// Equality is by value, <see cref="Metadata"/> included (compared by its entries, not by reference), so two reads of an
/// unchanged row are equal.
/// </remarks>
/// <param name="Address">The node incarnation this row describes.</param>
/// <param name="Endpoint">Where other nodes reach it (its internal URL).</param>
/// <param name="HostName">The machine it runs on, for operators.</param>
/// <param name="Status">Its life-cycle state.</param>
public sealed record MembershipEntry(NodeAddress Address, string Endpoint, string HostName, NodeStatus Status)
{
    private static readonly FrozenDictionary<string, string> _noMetadata = FrozenDictionary<string, string>.Empty;

    private readonly FrozenDictionary<string, string> _metadata = _noMetadata;

    /// <summary>When the row was inserted, by the database clock.</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>The last heartbeat, by the database clock.</summary>
    public DateTimeOffset LastHeartbeat { get; init; }

    /// <summary>The row's version: bumped by every status, endpoint, host or metadata change, never by a heartbeat.</summary>
    public long ETag { get; init; }

    /// <summary>
    /// What the node declares about itself for placement (Orleans' <c>SiloMetadata</c>), e.g. <c>providers</c> =
    /// <c>codex,claude</c> for the CLI providers it serves. Written by insert and update, never by a heartbeat. Never null;
    /// empty by default. The given dictionary is copied (keys compared ordinally), so later changes to it are not seen.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get => _metadata;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            _metadata = value switch
            {
                FrozenDictionary<string, string> frozen when ReferenceEquals(frozen.Comparer, StringComparer.Ordinal) => frozen,
                { Count: 0 } => _noMetadata,
                _ => value.ToFrozenDictionary(StringComparer.Ordinal),
            };
        }
    }

    /// <summary>
    /// How busy the node was at its last heartbeat, for spreading new grains: 0 is idle, 1 is saturated, above 1 is overloaded.
    /// Written by insert and by every heartbeat (<see cref="IMembershipTable.UpdateHeartbeatAsync"/>), never by an update.
    /// </summary>
    public double Load { get; init; }

    /// <inheritdoc/>
    public bool Equals(MembershipEntry? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (Address == other.Address
                && Endpoint == other.Endpoint
                && HostName == other.HostName
                && Status == other.Status
                && StartTime == other.StartTime
                && LastHeartbeat == other.LastHeartbeat
                && ETag == other.ETag
                && Load.Equals(other.Load)
                && MetadataEquals(_metadata, other._metadata)));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        // Metadata is left out of the hash (equal entries still hash equally): it rarely tells rows apart.
        var hash = new HashCode();
        hash.Add(Address);
        hash.Add(Endpoint);
        hash.Add(HostName);
        hash.Add(Status);
        hash.Add(StartTime);
        hash.Add(LastHeartbeat);
        hash.Add(ETag);
        hash.Add(Load);
        return hash.ToHashCode();
    }

    /// <summary>Throws unless <paramref name="load"/> is a finite, non-negative number (what tables accept).</summary>
    internal static void ValidateLoad(double load, [CallerArgumentExpression(nameof(load))] string? paramName = null)
    {
        if (!double.IsFinite(load) || load < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, load, "A node's load must be a finite number of at least 0 (0 idle, 1 saturated).");
        }
    }

    private static bool MetadataEquals(FrozenDictionary<string, string> left, FrozenDictionary<string, string> right)
    {
        if (ReferenceEquals(left, right))
        {
            return true;
        }

        if (left.Count != right.Count)
        {
            return false;
        }

        foreach (var (key, value) in left)
        {
            if (!right.TryGetValue(key, out var other) || !string.Equals(value, other, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// A consistent read of the whole membership of one cluster: every row, the table version they belong to, and the database's
/// clock at the moment of the read, so heartbeat ages are differences of two database timestamps (node clocks never count).
/// </summary>
public sealed record MembershipSnapshot(long Version, DateTimeOffset DatabaseNow, IReadOnlyList<MembershipEntry> Members)
{
    /// <summary>The row of that incarnation, or null when it is not in the table (never joined, or cleaned up).</summary>
    public MembershipEntry? Find(NodeAddress address) => Members.FirstOrDefault(m => m.Address == address);

    /// <summary>
    /// The members that take new grains: status <see cref="NodeStatus.Active"/> only (not Joining, ShuttingDown or Dead), in the
    /// table's order (node id, then incarnation). What placement chooses from.
    /// </summary>
    public IEnumerable<MembershipEntry> ActiveMembers => Members.Where(m => m.Status == NodeStatus.Active);

    /// <summary>True when the incarnation is in the table and not <see cref="NodeStatus.Dead"/>; absent rows count as dead.</summary>
    public bool IsLive(NodeAddress address) => Find(address) is { Status: not NodeStatus.Dead };

    /// <summary>How long ago the member last heartbeat, measured on the database clock.</summary>
    public TimeSpan HeartbeatAge(MembershipEntry entry) => DatabaseNow - entry.LastHeartbeat;
}
