using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Catalog;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>
/// A silo's life in the cluster. Joins once the host has started — migrations applied and the web server listening, so peers that
/// see it Active can reach it — and then serves. Stops gracefully: ShuttingDown (no new grains are placed here), deactivate every
/// activation within <see cref="ClusterOptions.ShutdownTimeout"/> (running turns finish, queued calls go to other nodes), Dead.
/// A node that learns it was declared dead or superseded stops serving at once and stops the host, as Orleans does.
/// </summary>
internal sealed class ClusterMembershipService(
    MembershipAgent agent,
    LocalNode node,
    GrainCatalog catalog,
    CachedGrainDirectory directory,
    RemoteGrainInvoker remote,
    IHostApplicationLifetime lifetime,
    IOptions<MembershipOptions> options,
    ILogger<ClusterMembershipService> logger) : IHostedLifecycleService
{
    private readonly HashSet<NodeAddress> _knownDead = [];

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        agent.MembershipChanged += OnMembershipChanged;
        agent.SelfDeclaredDead += OnSelfDeclaredDead;
        return Task.CompletedTask;
    }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await agent.JoinAsync(cancellationToken).ConfigureAwait(false);
        node.Serve(agent.Address);
        logger.Serving(agent.Address, node.Endpoint, options.Value.ClusterId);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (node.Address is null)
        {
            return;
        }

        try
        {
            await agent.BeginShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.ShutdownStepFailed(ex, "mark ShuttingDown");
        }

        // Still serving meanwhile, so the turns running here finish for their callers on other nodes.
        await catalog.DeactivateAllAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        node.StopServing();
        try
        {
            await agent.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Peers declare the node dead after the heartbeat timeout instead.
            logger.ShutdownStepFailed(ex, "leave the cluster");
        }
        finally
        {
            agent.MembershipChanged -= OnMembershipChanged;
            agent.SelfDeclaredDead -= OnSelfDeclaredDead;
        }
    }

    private void OnMembershipChanged(object? sender, MembershipSnapshot snapshot) =>
        MembershipReactions.Apply(snapshot, directory, remote, _knownDead, logger);

    private void OnSelfDeclaredDead(object? sender, SelfDeclaredDeadEventArgs e)
    {
        node.StopServing();
        logger.StoppingAfterDeath(e.Address, e.Reason);
        lifetime.StopApplication();
    }
}

/// <summary>Cluster hosting log events.</summary>
internal static partial class ClusterHostingLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Serving as {Address} at {Endpoint} in cluster {ClusterId}")]
    public static partial void Serving(this ILogger logger, NodeAddress address, string endpoint, string clusterId);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Graceful shutdown could not {Step}; continuing")]
    public static partial void ShutdownStepFailed(this ILogger logger, Exception exception, string step);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Aborted {Count} calls in flight to {Address}, which was declared dead")]
    public static partial void CallsAborted(this ILogger logger, int count, NodeAddress address);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Critical, Message = "Stopped serving as {Address} ({Reason}); stopping the host")]
    public static partial void StoppingAfterDeath(this ILogger logger, NodeAddress address, SelfDeathReason reason);
}
