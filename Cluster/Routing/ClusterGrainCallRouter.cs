using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Placement;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Routing;

/// <summary>
/// Routes calls in a cluster (Orleans' <c>GrainLocator</c> plus message forwarding): looks the grain up in the directory (cached),
/// places it when it has no activation, and calls this node's catalog or the owning node. A call that certainly ran nowhere is sent
/// again to the grain's new location — the owner restarted (<see cref="StaleTargetException"/>), was unreachable or stopping
/// (<see cref="SiloUnavailableException.NotDelivered"/>), or another node won the activation (<see cref="DuplicateActivationException"/>) —
/// at most <see cref="MaxAttempts"/> times. A call whose connection broke before any answer is sent again only when the owner's
/// process is proven gone (its endpoint refuses connections). Any other call that may have run (timeout, a paused or partitioned
/// owner declared dead, a stream that already produced items) is never sent again.
/// </summary>
internal sealed class ClusterGrainCallRouter(
    GrainTypeRegistry registry,
    LocalNode node,
    CachedGrainDirectory directory,
    IMembershipView membership,
    PlacementService placement,
    LocalGrainInvoker local,
    RemoteGrainInvoker remote,
    UnreachableNodeDetector detector,
    ILogger<ClusterGrainCallRouter> logger) : IGrainCallRouter
{
    /// <summary>How many times one call is routed before its last not-delivered failure goes to the caller.</summary>
    public const int MaxAttempts = 6;

    public async Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var target = await ResolveAsync(grainId, cancellationToken).ConfigureAwait(false);
            try
            {
                // Local calls get a copy: the catalog writes the token into the arguments, and a retry must start from the caller's.
                return target is null
                    ? await local.InvokeAsync(grainId, method, (object?[])args.Clone(), cancellationToken).ConfigureAwait(false)
                    : await remote.InvokeAsync(target, grainId, method, args, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxAttempts && !cancellationToken.IsCancellationRequested && MayRetry(ex, target))
            {
                if (!IsNotDelivered(ex) && !await OwnerCrashedAsync(target!, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }

                await PrepareRetryAsync(grainId, target, ex, attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async IAsyncEnumerable<T> InvokeStreamAsync<T>(
        GrainId grainId, GrainMethod method, object?[] args, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var target = await ResolveAsync(grainId, cancellationToken).ConfigureAwait(false);
            var items = target is null
                ? local.InvokeStreamAsync<T>(grainId, method, (object?[])args.Clone(), cancellationToken)
                : remote.InvokeStreamAsync<T>(target, grainId, method, args, cancellationToken);
            await using var enumerator = items.GetAsyncEnumerator(cancellationToken);
            bool more;
            try
            {
                // Only the wait for the first item may fail with "not delivered"; after an item the grain has run.
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxAttempts && !cancellationToken.IsCancellationRequested && MayRetry(ex, target))
            {
                if (!IsNotDelivered(ex) && !await OwnerCrashedAsync(target!, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }

                await PrepareRetryAsync(grainId, target, ex, attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            while (more)
            {
                yield return enumerator.Current;
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }

            yield break;
        }
    }

    /// <summary>Null for this node's catalog, else the node holding (or chosen for) the grain's activation.</summary>
    private async ValueTask<RemoteNode?> ResolveAsync(GrainId grainId, CancellationToken cancellationToken)
    {
        var grainClass = registry.FindClass(grainId.Type)
            ?? throw new InvalidOperationException($"No grain class has grain type '{grainId.Type}'.");
        var self = node.HostsGrains ? node.Address : null;
        if (grainClass.Placement == PlacementStrategy.Local)
        {
            return self is not null
                ? null
                : throw new SiloUnavailableException(
                    $"Grain {grainId} lives on the calling node, and {node.NodeId} {(node.HostsGrains ? "is not a serving member" : "hosts no grains")}.", notDelivered: true);
        }

        var entry = await directory.LookupAsync(grainId, cancellationToken).ConfigureAwait(false);
        if (entry is not null && membership.Snapshot is { } snapshot && !snapshot.IsLive(entry.Node))
        {
            // The node died since the entry was cached; its grains are placed again.
            directory.Invalidate(grainId);
            entry = null;
        }

        if (entry is not null)
        {
            return entry.Node == self ? null : new RemoteNode(entry.Node, new Uri(entry.Endpoint));
        }

        MembershipEntry chosen;
        try
        {
            chosen = placement.Choose(grainClass, grainId, self);
        }
        catch (NoEligibleNodeException)
        {
            // Peers that joined since the last membership read are not in the view yet: read again before giving up.
            await membership.RefreshAsync(cancellationToken).ConfigureAwait(false);
            chosen = placement.Choose(grainClass, grainId, self);
        }

        return chosen.Address == self ? null : new RemoteNode(chosen.Address, new Uri(chosen.Endpoint));
    }

    private static bool IsNotDelivered(Exception exception) => exception is
        StaleTargetException or DuplicateActivationException or SiloUnavailableException { NotDelivered: true };

    /// <summary>
    /// A connection that broke before any answer (typically a pooled connection to a process killed a moment ago) may have carried the
    /// call, but if the node's endpoint now refuses connections its process is gone, and whatever the call started there died with
    /// it: the call is sent to the grain's next activation. Grains whose calls must not repeat a side effect that reached the
    /// database carry an idempotency key (a turn carries its response id, which can be stored only once).
    /// </summary>
    private Task<bool> OwnerCrashedAsync(RemoteNode target, CancellationToken cancellationToken) => detector.CheckAsync(target, cancellationToken);

    /// <summary>Not delivered, or a remote node's failure that is retried if its process proves gone.</summary>
    private static bool MayRetry(Exception exception, RemoteNode? target) =>
        IsNotDelivered(exception) || (target is not null && exception is SiloUnavailableException);

    private async Task PrepareRetryAsync(GrainId grainId, RemoteNode? target, Exception failure, int attempt, CancellationToken cancellationToken)
    {
        logger.Rerouting(grainId, target?.Address, attempt, failure.Message);
        if (failure is not DuplicateActivationException || target is not null)
        {
            // A local duplicate left the winner in this node's cache (a remote one only in that node's); anything else means the cached location is wrong.
            directory.Invalidate(grainId);
        }

        if (target is not null && failure is SiloUnavailableException { NotDelivered: true })
        {
            // Refused connections are a crashed process: declare it dead now rather than after the heartbeat timeout.
            await detector.CheckAsync(target, cancellationToken).ConfigureAwait(false);
        }

        if (attempt > 1)
        {
            // Membership may be a heartbeat behind (a node stopping, a restart); give it a moment, growing, bounded.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * (1 << (attempt - 2)), 800)), cancellationToken).ConfigureAwait(false);
            await membership.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Router log events.</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Debug, Message = "Routing grain {GrainId} again (attempt {Attempt}) after node {Target} did not take the call: {Reason}")]
    public static partial void Rerouting(this ILogger logger, GrainId grainId, NodeAddress? target, int attempt, string reason);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Declared {Address} dead: its endpoint {Endpoint} refuses connections")]
    public static partial void DeclaredUnreachableDead(this ILogger logger, NodeAddress address, Uri endpoint);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Debug, Message = "Checking whether unreachable node {Address} crashed failed; the heartbeat timeout decides")]
    public static partial void UnreachableCheckFailed(this ILogger logger, Exception exception, NodeAddress address);
}
