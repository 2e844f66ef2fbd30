using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.Transport;

/// <summary>Which node incarnation this process is, as far as incoming calls are concerned.</summary>
public interface ILocalNodeIdentity
{
    /// <summary>The incarnation serving calls, or null while the node has not joined or no longer serves (declared dead, superseded).</summary>
    NodeAddress? Address { get; }
}

/// <summary>A node another node calls: the incarnation it expects to reach and where it listens.</summary>
/// <param name="Address">The node incarnation; a call reaching another incarnation is refused with <see cref="StaleTargetException"/>.</param>
/// <param name="Endpoint">The node's internal base URL (membership's endpoint column), e.g. <c>http://10.0.0.5:11111/</c>.</param>
public sealed record RemoteNode(NodeAddress Address, Uri Endpoint)
{
    public override string ToString() => $"{Address} ({Endpoint})";
}
