using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>What this process knows about its cluster, for health checks and dashboards; registered in <c>Postgres</c> mode only.</summary>
public interface IClusterStatus
{
    /// <summary>This node's stable id (<c>Cluster:NodeId</c>).</summary>
    string NodeId { get; }

    /// <summary>True for a silo, false for a pure client.</summary>
    bool HostsGrains { get; }

    /// <summary>The incarnation this silo serves as; null before it joined, after it left or was declared dead, and on a client.</summary>
    NodeAddress? ServingAs { get; }

    /// <summary>The latest membership read; null before the first.</summary>
    MembershipSnapshot? Membership { get; }
}

internal sealed class ClusterStatus(LocalNode node, IMembershipView membership) : IClusterStatus
{
    public string NodeId => node.NodeId;

    public bool HostsGrains => node.HostsGrains;

    public NodeAddress? ServingAs => node.HostsGrains ? node.Address : null;

    public MembershipSnapshot? Membership => membership.Snapshot;
}
