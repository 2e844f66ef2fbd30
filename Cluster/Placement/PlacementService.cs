using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Placement;

/// <summary>
/// Chooses the node for a new activation (Orleans' <c>PlacementService</c> with its directors), from the latest membership view:
/// only <see cref="NodeStatus.Active"/> nodes that pass the grain class's <see cref="MetadataPlacementFilterAttribute"/>s are
/// eligible; <see cref="PreferLocalPlacementAttribute"/> takes the calling node unless it is not eligible or saturated, then the
/// least loaded eligible node; other grains go to a random eligible node.
/// </summary>
internal sealed class PlacementService(IMembershipView membership)
{
    /// <summary>A node whose load is at least this is saturated: a prefer-local grain goes elsewhere if it can.</summary>
    public const double SaturatedLoad = 1.0;

    /// <summary>The chosen node; throws <see cref="NoEligibleNodeException"/> when no node is eligible.</summary>
    /// <param name="grainClass">The grain class to place.</param>
    /// <param name="grainId">The grain, for error messages.</param>
    /// <param name="self">The calling node when it hosts grains; null for a pure client.</param>
    public MembershipEntry Choose(GrainClassInfo grainClass, GrainId grainId, NodeAddress? self)
    {
        var snapshot = membership.Snapshot ?? throw new NoEligibleNodeException(
            $"The cluster's membership has not been read yet; grain {grainId} was not placed.");
        var eligible = snapshot.Members.Where(m => m.Status == NodeStatus.Active && PassesFilters(grainClass, m)).ToList();
        if (eligible.Count == 0)
        {
            throw new NoEligibleNodeException(NoNodeMessage(grainClass, grainId, snapshot));
        }

        if (grainClass.Placement == PlacementStrategy.PreferLocal)
        {
            var local = self is { } address ? eligible.FirstOrDefault(m => m.Address == address) : null;
            if (local is not null && local.Load < SaturatedLoad)
            {
                return local;
            }

            // Least loaded; among equals a random one, so that a burst of new grains does not pile onto one node between heartbeats.
            var lowest = eligible.Min(m => m.Load);
            var least = eligible.Where(m => m.Load <= lowest).ToList();
            return least[Random.Shared.Next(least.Count)];
        }

        return eligible[Random.Shared.Next(eligible.Count)];
    }

    private static bool PassesFilters(GrainClassInfo grainClass, MembershipEntry member)
    {
        foreach (var filter in grainClass.PlacementFilters)
        {
            if (RequestContext.Get(filter.RequestContextKey) is not { Length: > 0 } wanted)
            {
                continue;
            }

            if (!member.Metadata.TryGetValue(filter.MetadataKey, out var offered)
                || !offered.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(wanted, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    private static string NoNodeMessage(GrainClassInfo grainClass, GrainId grainId, MembershipSnapshot snapshot)
    {
        var active = snapshot.Members.Count(m => m.Status == NodeStatus.Active);
        var wanted = grainClass.PlacementFilters
            .Select(f => RequestContext.Get(f.RequestContextKey) is { Length: > 0 } value ? $"{f.MetadataKey} containing '{value}'" : null)
            .OfType<string>()
            .ToList();
        return active == 0
            ? $"No active node in the cluster can take grain {grainId}; it was not placed."
            : $"None of the {active} active nodes declares {string.Join(" and ", wanted)}; grain {grainId} was not placed.";
    }
}
