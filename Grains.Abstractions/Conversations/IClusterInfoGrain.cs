namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// What the silos know of each other, for operators (<c>/health</c>): a stateless worker, so it answers from the silo that
/// receives the call (for a pure client, its gateway). Key: always 0.
/// </summary>
public interface IClusterInfoGrain : IGrainWithIntegerKey
{
    /// <summary>Every silo membership lists that is not dead, with the providers it serves and its CLI load as this silo sees them.</summary>
    Task<IReadOnlyList<SiloInfo>> GetSilos();
}

/// <summary>A silo as the cluster sees it.</summary>
/// <param name="Name">Its <c>Cluster:NodeId</c>.</param>
/// <param name="Status">Orleans' <see cref="SiloStatus"/> name.</param>
/// <param name="Providers">Its <c>providers</c> metadata, e.g. <c>codex,claude</c>; null when not known yet.</param>
/// <param name="Load">Its CLI load: 0 idle, 1 every slot of some provider busy, more with turns waiting.</param>
[GenerateSerializer, Immutable, Alias("OrleansCodex.SiloInfo")]
public sealed record SiloInfo(SiloAddress Address, string Name, string Status, string? Providers, double Load);
