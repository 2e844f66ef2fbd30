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
/// <param name="Address">The node incarnation this row describes.</param>
/// <param name="Endpoint">Where other nodes reach it (its internal URL).</param>
/// <param name="HostName">The machine it runs on, for operators.</param>
/// <param name="Status">Its life-cycle state.</param>
public sealed record MembershipEntry(NodeAddress Address, string Endpoint, string HostName, NodeStatus Status)
{
    /// <summary>When the row was inserted, by the database clock.</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>The last heartbeat, by the database clock.</summary>
    public DateTimeOffset LastHeartbeat { get; init; }

    /// <summary>The row's version: bumped by every status, endpoint or host change, never by a heartbeat.</summary>
    public long ETag { get; init; }
}

/// <summary>
/// A consistent read of the whole membership of one cluster: every row, the table version they belong to, and the database's
/// clock at the moment of the read, so heartbeat ages are differences of two database timestamps (node clocks never count).
/// </summary>
public sealed record MembershipSnapshot(long Version, DateTimeOffset DatabaseNow, IReadOnlyList<MembershipEntry> Members)
{
    /// <summary>The row of that incarnation, or null when it is not in the table (never joined, or cleaned up).</summary>
    public MembershipEntry? Find(NodeAddress address) => Members.FirstOrDefault(m => m.Address == address);

    /// <summary>True when the incarnation is in the table and not <see cref="NodeStatus.Dead"/>; absent rows count as dead.</summary>
    public bool IsLive(NodeAddress address) => Find(address) is { Status: not NodeStatus.Dead };

    /// <summary>How long ago the member last heartbeat, measured on the database clock.</summary>
    public TimeSpan HeartbeatAge(MembershipEntry entry) => DatabaseNow - entry.LastHeartbeat;
}
