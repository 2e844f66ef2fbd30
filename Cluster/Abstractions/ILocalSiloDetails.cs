namespace OrleansCodex.Cluster;

/// <summary>This node as grain code may know it (Orleans' <c>ILocalSiloDetails</c>).</summary>
public interface ILocalSiloDetails
{
    /// <summary>
    /// The node's stable name: <c>Cluster:NodeId</c> when configured, else the machine name. Files a grain leaves on this node (a CLI
    /// session) are only found again by activations on a node of the same name.
    /// </summary>
    string Name { get; }
}

internal sealed class LocalSiloDetails(string name) : ILocalSiloDetails
{
    public string Name { get; } = name;
}
