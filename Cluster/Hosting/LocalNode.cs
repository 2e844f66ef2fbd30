using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>
/// This process as a member of a cluster: its stable id, the URL peers call it at, whether it hosts grains (a silo) or only calls
/// them (a client), and the incarnation it serves as — set once it joined, cleared the moment it leaves or learns it was declared dead,
/// after which incoming calls are refused (410) and nothing is placed here.
/// </summary>
internal sealed class LocalNode(string nodeId, string endpoint, bool hostsGrains) : ILocalNodeIdentity
{
    private readonly Lock _lock = new();
    private NodeAddress? _address;

    public string NodeId { get; } = nodeId;

    public string Endpoint { get; } = endpoint;

    public bool HostsGrains { get; } = hostsGrains;

    public NodeAddress? Address
    {
        get { lock (_lock) { return _address; } }
    }

    public void Serve(NodeAddress address)
    {
        lock (_lock)
        {
            _address = address;
        }
    }

    public void StopServing()
    {
        lock (_lock)
        {
            _address = null;
        }
    }
}
