using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace OrleansCodex.Grains.Placement;

/// <summary>
/// Places a new conversation on the silo that received its first request (it has the caller's connection, and for a co-hosted
/// front end the CLIs), unless that silo is saturated: every CLI slot of some provider busy (<see cref="NodeLoad"/> ≥ 1). Then,
/// and for calls that arrive through a gateway from a silo that cannot take it, the least loaded eligible silo (ties at random).
/// Eligible silos are those Orleans finds compatible after the placement filters (<see cref="ServesProviderPlacementFilterAttribute"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ConversationPlacementAttribute() : PlacementAttribute(ConversationPlacementStrategy.Instance);

/// <summary>The strategy behind <see cref="ConversationPlacementAttribute"/>.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.ConversationPlacementStrategy")]
public sealed class ConversationPlacementStrategy : PlacementStrategy
{
    internal static ConversationPlacementStrategy Instance { get; } = new();
}

/// <summary>Decides with <see cref="NodeLoad"/>: the local silo's load exactly, the others' as last polled.</summary>
internal sealed class ConversationPlacementDirector(NodeLoad loads) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint)
        {
            return Task.FromResult(hint);
        }

        var local = context.LocalSilo;
        if (context.LocalSiloStatus == SiloStatus.Active && compatible.Contains(local) && loads.Of(local) < 1)
        {
            return Task.FromResult(local);
        }

        return Task.FromResult(compatible.MinBy(silo => (loads.Of(silo), Random.Shared.Next()))!);
    }
}
