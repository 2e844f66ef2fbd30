namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>Grain directory settings, bound from the <c>Cluster</c> section.</summary>
public sealed class GrainDirectoryOptions
{
    public const string SectionName = "Cluster";

    /// <summary>How many directory entries each node keeps cached; the least recently used are dropped beyond it.</summary>
    /// <value>100,000 entries by default (a few MB).</value>
    public int DirectoryCacheSize { get; set; } = 100_000;
}
