using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>
/// A pure client's view of the cluster: reads membership every heartbeat period (without joining), drops cached directory entries
/// of dead silos, and fails calls in flight to them at once.
/// </summary>
internal sealed class ClusterClientService(
    MembershipObserver observer,
    CachedGrainDirectory directory,
    RemoteGrainInvoker remote,
    ILogger<ClusterClientService> logger) : IHostedService
{
    private readonly HashSet<NodeAddress> _knownDead = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        observer.MembershipChanged += OnMembershipChanged;
        await observer.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        observer.MembershipChanged -= OnMembershipChanged;
        await observer.DisposeAsync().ConfigureAwait(false);
    }

    private void OnMembershipChanged(object? sender, MembershipSnapshot snapshot) =>
        MembershipReactions.Apply(snapshot, directory, remote, _knownDead, logger);
}

/// <summary>What every process does when membership changes, silo or client.</summary>
internal static class MembershipReactions
{
    public static void Apply(MembershipSnapshot snapshot, CachedGrainDirectory directory, RemoteGrainInvoker remote, HashSet<NodeAddress> knownDead, ILogger logger)
    {
        directory.OnMembershipChanged(snapshot);
        foreach (var member in snapshot.Members.Where(m => m.Status == NodeStatus.Dead))
        {
            if (knownDead.Add(member.Address))
            {
                // Their callers get a prompt "node unavailable" instead of waiting for the call timeout. Off the membership loop:
                // cancellation runs the callers' continuations.
                var address = member.Address;
                _ = Task.Run(() =>
                {
                    var aborted = remote.AbortCallsTo(address);
                    if (aborted > 0)
                    {
                        logger.CallsAborted(aborted, address);
                    }
                });
            }
        }
    }
}
