using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>
/// Registers activations in the grain directory before any of their grain code or state reads run, and removes them when they are
/// gone: what makes an activation the one activation of its grain in the cluster.
/// </summary>
internal interface IActivationDirectory
{
    /// <summary>Claims the grain for this activation; throws <see cref="DuplicateActivationException"/> when another activation holds it.</summary>
    Task RegisterAsync(ActivationData activation, CancellationToken cancellationToken);

    /// <summary>Releases the claim of this very activation (never a newer one); best effort, failures are logged.</summary>
    Task UnregisterAsync(ActivationData activation);
}

/// <summary>A single node is the whole cluster: its catalog already keeps one activation per grain.</summary>
internal sealed class LocalActivationDirectory : IActivationDirectory
{
    public Task RegisterAsync(ActivationData activation, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task UnregisterAsync(ActivationData activation) => Task.CompletedTask;
}

/// <summary>The cluster's shared directory (first writer wins), through this node's cache.</summary>
internal sealed class ClusterActivationDirectory(CachedGrainDirectory directory, LocalNode node, ILogger<ClusterActivationDirectory> logger) : IActivationDirectory
{
    // A leftover entry of this node (an unregister that failed) is removed and the registration tried again, a bounded number of times.
    private const int MaxAttempts = 3;

    public async Task RegisterAsync(ActivationData activation, CancellationToken cancellationToken)
    {
        if (activation.Placement == PlacementStrategy.Local)
        {
            return;
        }

        var self = node.Address ?? throw new SiloUnavailableException(
            $"Node {node.NodeId} is not a serving member of the cluster; grain {activation.GrainId} was not activated.", notDelivered: true);
        var mine = Entry(activation, self);
        for (var attempt = 1; ; attempt++)
        {
            var winner = await directory.RegisterAsync(mine, cancellationToken).ConfigureAwait(false);
            if (winner == mine)
            {
                return;
            }

            if (winner.Node != self || attempt == MaxAttempts)
            {
                throw new DuplicateActivationException(
                    $"Grain {activation.GrainId} is already activated on node {winner.Node} ({winner.Endpoint}); this node's activation was not started.");
            }

            // This node holds no other activation of the grain (the catalog keeps one), so the entry is stale: a failed unregister.
            await directory.UnregisterAsync(winner, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task UnregisterAsync(ActivationData activation)
    {
        if (activation.Placement == PlacementStrategy.Local || node.Address is not { } self)
        {
            return;
        }

        try
        {
            await directory.UnregisterAsync(Entry(activation, self)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The entry stays pointing at this node; the next activation here replaces it, and callers elsewhere reach this node, which activates again.
            logger.UnregisterFailed(ex, activation.GrainId, activation.ActivationId);
        }
    }

    private GrainDirectoryEntry Entry(ActivationData activation, Membership.NodeAddress self) =>
        new(activation.GrainId, self, node.Endpoint, activation.ActivationId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
