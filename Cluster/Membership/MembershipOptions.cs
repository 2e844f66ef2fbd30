namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// Failure detection settings, bound from the <c>Cluster</c> section. A crashed node is declared dead at most
/// <see cref="DeathTimeout"/> + <see cref="HeartbeatPeriod"/> after its last heartbeat (4 s with the defaults), after which its
/// grains are placed again; Orleans' probing takes 10–25 s.
/// </summary>
public sealed class MembershipOptions
{
    public const string SectionName = "Cluster";

    /// <summary>Names the cluster: nodes with the same id (and database) form one cluster.</summary>
    /// <value><c>orleanscodex</c> by default.</value>
    public string ClusterId { get; set; } = "orleanscodex";

    /// <summary>How often a node writes its heartbeat and reads the membership table.</summary>
    /// <value>1 second by default.</value>
    public TimeSpan HeartbeatPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How old a node's last heartbeat (by the database clock) may get before any other node declares it dead. Must be at least
    /// twice <see cref="HeartbeatPeriod"/>, so one slow heartbeat never kills a healthy node.
    /// </summary>
    /// <value>3 seconds by default.</value>
    public TimeSpan DeathTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long rows of dead incarnations are kept (for operators) before a joining node deletes them.</summary>
    /// <value>7 days by default, as in Orleans.</value>
    public TimeSpan DefunctEntryExpiration { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The longest a crashed node's grains stay unreachable: its heartbeat must age past the timeout and a peer must look.</summary>
    public TimeSpan MaxDetectionTime => DeathTimeout + HeartbeatPeriod;
}
