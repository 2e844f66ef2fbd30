using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Routing;

/// <summary>
/// Fast failure detection for crashed processes. Heartbeats need up to <see cref="MembershipOptions.MaxDetectionTime"/> to notice a
/// dead node; a process that was killed is noticed at once by its callers, because its port refuses connections. When a call could
/// not connect, the detector looks again after a short pause, and if the endpoint still refuses connections it declares that
/// incarnation dead in the membership table (compare-and-swap, like any other death). A node that is slow, partitioned or paused is
/// not refused — connections time out instead — and is left to the heartbeat timeout, so a healthy node is never killed by a probe.
/// A restarted node on the same port accepts the connection (and answers 410 to the old incarnation), so it is not declared dead either.
/// </summary>
internal sealed class UnreachableNodeDetector(
    IMembershipTable table,
    IMembershipView membership,
    IOptions<ClusterTransportOptions> transport,
    TimeProvider timeProvider,
    ILogger<UnreachableNodeDetector> logger)
{
    /// <summary>The pause before the second look, so a connection refused while a listener restarts is not taken for a crash.</summary>
    public static readonly TimeSpan SecondLookDelay = TimeSpan.FromMilliseconds(100);

    private const int MaxWriteAttempts = 5;

    // One check per incarnation at a time; callers failing together share it.
    private readonly ConcurrentDictionary<NodeAddress, Lazy<Task<bool>>> _checks = new();

    /// <summary>
    /// Looks again at a node a call could not reach. True when its endpoint refuses connections, i.e. the process is gone (the
    /// incarnation is then declared dead, if it was not already); false when it may still run or could not be judged. Never throws
    /// but for cancellation.
    /// </summary>
    public Task<bool> CheckAsync(RemoteNode node, CancellationToken cancellationToken)
    {
        var check = _checks.GetOrAdd(node.Address, address => new Lazy<Task<bool>>(() => RunCheckAsync(node)));
        return check.Value.WaitAsync(cancellationToken);
    }

    private async Task<bool> RunCheckAsync(RemoteNode node)
    {
        try
        {
            await Task.Delay(SecondLookDelay, timeProvider).ConfigureAwait(false);
            if (!await RefusesConnectionsAsync(node.Endpoint).ConfigureAwait(false))
            {
                return false;
            }

            if (membership.Snapshot is { } known && !known.IsLive(node.Address))
            {
                return true;
            }

            for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
            {
                await membership.RefreshAsync().ConfigureAwait(false);
                var snapshot = membership.Snapshot;
                if (snapshot is null || !snapshot.IsLive(node.Address))
                {
                    return true;
                }

                if (await table.DeclareDeadAsync(node.Address, TimeSpan.Zero, snapshot.Version).ConfigureAwait(false))
                {
                    logger.DeclaredUnreachableDead(node.Address, node.Endpoint);
                    await membership.RefreshAsync().ConfigureAwait(false);
                    return true;
                }
            }

            return true;
        }
        catch (Exception ex)
        {
            // The heartbeat timeout still catches the node; this was only a shortcut.
            logger.UnreachableCheckFailed(ex, node.Address);
            return false;
        }
        finally
        {
            _checks.TryRemove(node.Address, out _);
        }
    }

    private async Task<bool> RefusesConnectionsAsync(Uri endpoint)
    {
        using var timeout = new CancellationTokenSource(transport.Value.ConnectTimeout, timeProvider);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint.DnsSafeHost, endpoint.Port, timeout.Token).ConfigureAwait(false);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // Unreachable in some other way (timeout, no route, name not resolved): not proof of a crash.
            return false;
        }
    }
}
