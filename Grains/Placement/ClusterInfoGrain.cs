using Orleans.Concurrency;
using Orleans.Runtime.MembershipService.SiloMetadata;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Placement;

/// <summary>Answers <see cref="IClusterInfoGrain"/> from this silo's membership view, silo metadata and <see cref="NodeLoad"/>.</summary>
[StatelessWorker(1)]
[GrainType("clusterinfo")]
internal sealed class ClusterInfoGrain(IClusterMembershipService membership, ISiloMetadataCache metadata, NodeLoad loads) : Grain, IClusterInfoGrain
{
    public Task<IReadOnlyList<SiloInfo>> GetSilos() => Task.FromResult<IReadOnlyList<SiloInfo>>(membership.CurrentSnapshot.Members.Values
        .Where(m => m.Status != SiloStatus.Dead)
        .OrderBy(m => m.Name, StringComparer.Ordinal)
        .Select(m => new SiloInfo(m.SiloAddress, m.Name, m.Status.ToString(),
            metadata.GetSiloMetadata(m.SiloAddress).Metadata.GetValueOrDefault(ModelRouting.ProvidersMetadataKey), loads.Of(m.SiloAddress)))
        .ToList());
}
