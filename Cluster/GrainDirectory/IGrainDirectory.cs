using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>
/// Where the one activation of a grain lives (Orleans' <c>GrainAddress</c>). <paramref name="ActivationId"/> only has to be
/// unique per node incarnation: unregistering matches node, incarnation and activation id together.
/// </summary>
/// <param name="GrainId">The grain.</param>
/// <param name="Node">The node incarnation that holds the activation.</param>
/// <param name="Endpoint">Where that node is reached (copied from its membership row, so callers need no second lookup).</param>
/// <param name="ActivationId">The activation, so that a late unregister cannot remove a newer registration.</param>
public sealed record GrainDirectoryEntry(GrainId GrainId, NodeAddress Node, string Endpoint, string ActivationId);

/// <summary>
/// The cluster-wide grain directory: at most one registered activation per grain. Entries carry no lease; an entry is valid
/// while its node incarnation is a member that is not dead, and entries of dead nodes are ignored and replaced.
/// A node must have joined membership before it registers anything.
/// </summary>
public interface IGrainDirectory
{
    /// <summary>
    /// Registers an activation unless a valid one is registered already. Returns the registered entry: <paramref name="entry"/>
    /// when it won, otherwise the winner, to which the caller forwards its calls without running grain code. An existing entry
    /// of a dead (or vanished) node is replaced; of concurrent registrations exactly one wins and all see the same winner.
    /// </summary>
    Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The registered activation of the grain, or null when there is none or its node is dead.</summary>
    Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default);

    /// <summary>Removes the registration only if it is still exactly this activation; returns whether it did.</summary>
    Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Removes every entry of a node incarnation that is dead or gone from membership; returns how many. Live nodes keep theirs.</summary>
    Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default);
}
