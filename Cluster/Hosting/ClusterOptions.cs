namespace OrleansCodex.Cluster.Hosting;

/// <summary>How a process finds the other nodes of its cluster.</summary>
public enum ClusterMode
{
    /// <summary>One node, no membership: the process is the whole cluster (SQLite or PostgreSQL storage).</summary>
    Local,

    /// <summary>Nodes share one PostgreSQL database: membership, grain directory and grain state live there.</summary>
    Postgres,
}

/// <summary>The runtime's settings, bound from the <c>Cluster</c> configuration section.</summary>
public sealed class ClusterOptions
{
    public const string SectionName = "Cluster";

    /// <summary>How long an activation may go without calls before it is deactivated.</summary>
    /// <value>15 minutes by default, as in Orleans.</value>
    public TimeSpan IdleDeactivationAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle activations are looked for; an idle activation lives at most this much longer than <see cref="IdleDeactivationAge"/>.</summary>
    /// <value>1 minute by default, as in Orleans.</value>
    public TimeSpan CollectionScanPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long stopping the node waits for activations to finish their calls and <c>OnDeactivateAsync</c>.</summary>
    /// <value>30 seconds by default (Orleans' deactivation timeout).</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>This node's name in logs (and, in a cluster, in membership).</summary>
    /// <value>The machine name and process id by default, e.g. <c>web-1-4242</c>.</value>
    public string NodeId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary><c>Local</c> (single node) or <c>Postgres</c> (a cluster sharing <c>ConnectionStrings:Postgres</c>); see <see cref="ClusterMode"/>.</summary>
    /// <value><c>Local</c> by default.</value>
    public string Mode { get; set; } = nameof(ClusterMode.Local);

    /// <summary>
    /// The base URL other nodes call this node at (its <c>/_cluster/v1/calls</c> endpoint), written to membership. Use a stable id
    /// (<see cref="NodeId"/>) with it, so that a restarted node is recognised as a new incarnation of the same node.
    /// </summary>
    /// <value>
    /// When not set: the first listen URL (<c>urls</c>/<c>ASPNETCORE_URLS</c>) with a wildcard host replaced by the machine name.
    /// Required in <c>Postgres</c> mode when that gives nothing.
    /// </value>
    public string? AdvertisedUrl { get; set; }

    /// <summary>The parsed mode, or null when <see cref="Mode"/> is not a known one.</summary>
    public ClusterMode? ParsedMode => Enum.TryParse<ClusterMode>(Mode, ignoreCase: true, out var mode) && Enum.IsDefined(mode) ? mode : null;
}

/// <summary>Key/value facts about a node that placement filters read (Orleans' silo metadata), bound from <c>Cluster:Metadata</c>.</summary>
public sealed class NodeMetadataOptions
{
    public const string SectionName = "Cluster:Metadata";

    /// <summary>
    /// Written to the node's membership row when it joins, e.g. <c>providers</c> = <c>codex,claude</c>. Hosts may add entries in code
    /// (<c>services.Configure&lt;NodeMetadataOptions&gt;(…)</c>).
    /// </summary>
    /// <value>Empty by default.</value>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
