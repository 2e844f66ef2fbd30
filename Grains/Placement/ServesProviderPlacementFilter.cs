using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Placement;

/// <summary>
/// Places a grain only on silos that serve the provider its caller names in <see cref="RequestContext"/> (key
/// <see cref="ModelRouting.ProviderRequestContextKey"/>, set by the front end for every turn): a silo's <c>providers</c> metadata
/// (<c>Cluster:Providers</c>) must list it. With no provider in the request every compatible silo stays eligible. No eligible silo
/// is a <see cref="ProviderUnavailableException"/> for the caller. (Orleans' own metadata filters compare with the placing silo's
/// metadata, not with the request, so they do not fit.)
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ServesProviderPlacementFilterAttribute() : PlacementFilterAttribute(new ServesProviderPlacementFilterStrategy());

/// <summary>The strategy behind <see cref="ServesProviderPlacementFilterAttribute"/>; it has no parameters.</summary>
public sealed class ServesProviderPlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

/// <summary>Applies <see cref="ServesProviderPlacementFilterStrategy"/> with the silo metadata Orleans spreads through the cluster.</summary>
internal sealed class ServesProviderPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        if (target.RequestContextData is not { } context
            || !context.TryGetValue(ModelRouting.ProviderRequestContextKey, out var value)
            || !ModelRouting.TryParseProvider(value as string, out var provider))
        {
            return silos;
        }

        var eligible = silos.Where(silo => ServedProviders.Lists(metadata.GetSiloMetadata(silo).Metadata.GetValueOrDefault(ModelRouting.ProvidersMetadataKey), provider)).ToList();
        return eligible.Count > 0 ? eligible : throw new ProviderUnavailableException(ModelRouting.ProviderName(provider));
    }
}
