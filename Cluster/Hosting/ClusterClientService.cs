using Microsoft.Extensions.DependencyInjection;
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
/// <remarks>Dependencies are resolved in <see cref="StartAsync"/>: the host builds hosted services before it validates options.</remarks>
internal sealed class ClusterClientService(IServiceProvider services, ILogger<ClusterClientService> logger) : IHostedService
{
    private readonly HashSet<NodeAddress> _knownDead = [];
    private MembershipObserver? _observer;
    private CachedGrainDirectory _directory = null!;
    private RemoteGrainInvoker _remote = null!;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _observer = services.GetRequiredService<MembershipObserver>();
        _directory = services.GetRequiredService<CachedGrainDirectory>();
        _remote = services.GetRequiredService<RemoteGrainInvoker>();
        _observer.MembershipChanged += OnMembershipChanged;
        await _observer.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_observer is null)
        {
            return;
        }

        _observer.MembershipChanged -= OnMembershipChanged;
        await _observer.DisposeAsync().ConfigureAwait(false);
    }

    private void OnMembershipChanged(object? sender, MembershipSnapshot snapshot) =>
        MembershipReactions.Apply(snapshot, _directory, _remote, _knownDead, logger);
}

/// <summary>What every process does when membership changes, silo or client.</summary>
internal static class MembershipReactions
{
    public static void Apply(MembershipSnapshot snapshot, CachedGrainDirectory _directory, RemoteGrainInvoker _remote, HashSet<NodeAddress> knownDead, ILogger logger)
    {
        _directory.OnMembershipChanged(snapshot);
        foreach (var member in snapshot.Members.Where(m => m.Status == NodeStatus.Dead))
        {
            if (knownDead.Add(member.Address))
            {
                // Their callers get a prompt "node unavailable" instead of waiting for the call timeout. Off the membership loop:
                // cancellation runs the callers' continuations.
                var address = member.Address;
                _ = Task.Run(() =>
                {
                    var aborted = _remote.AbortCallsTo(address);
                    if (aborted > 0)
                    {
                        logger.CallsAborted(aborted, address);
                    }
                });
            }
        }
    }
}
