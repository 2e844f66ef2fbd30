namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// What a process knows about the cluster's membership: the latest read of the table and a notification when it changes.
/// Nodes get it from their <see cref="MembershipAgent"/> (which also heartbeats); pure clients from a <see cref="MembershipObserver"/>
/// (which only reads). Routing and placement decide from this view, never from their own reads.
/// </summary>
public interface IMembershipView
{
    /// <summary>The latest membership read, replaced by every read (so node loads are current); null until the first read finished.</summary>
    MembershipSnapshot? Snapshot { get; }

    /// <summary>Raised after a read that found a new table version (a join, a status change, a death).</summary>
    event EventHandler<MembershipSnapshot>? MembershipChanged;

    /// <summary>Reads the table now instead of waiting for the next period (a node also heartbeats and judges its peers).</summary>
    Task RefreshAsync(CancellationToken cancellationToken = default);
}
