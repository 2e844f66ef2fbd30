namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// How busy this node is, written into membership with every heartbeat so that placement can spread new grains
/// (<see cref="MembershipEntry.Load"/>). The host implements it (e.g. busy CLI workers divided by workers) and gives it to the
/// <see cref="MembershipAgent"/>; without one the node reports 0.
/// </summary>
/// <remarks>
/// Read once per heartbeat period on the agent's loop, so it must be cheap and must not block. A value that is negative, not
/// finite, or an exception is logged and the previous good value is sent instead, so a faulty source never stops heartbeats.
/// </remarks>
public interface INodeLoad
{
    /// <summary>The current load: 0 idle, 1 saturated, above 1 overloaded (more work queued than the node can run at once).</summary>
    double CurrentLoad { get; }
}
