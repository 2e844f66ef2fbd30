namespace OrleansCodex.Cluster.Hosting;

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
}
