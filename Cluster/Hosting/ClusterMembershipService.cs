using Microsoft.Extensions.DependencyInjection;
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
/// <remarks>Dependencies are resolved in <see cref="StartAsync"/>: the host builds hosted services before it validates options.</remarks>
internal sealed class ClusterMembershipService(IServiceProvider services, ILogger<ClusterMembershipService> logger) : IHostedLifecycleService
{
    private readonly HashSet<NodeAddress> _knownDead = [];
    private MembershipAgent _agent = null!;
    private LocalNode _node = null!;
    private GrainCatalog _catalog = null!;
    private CachedGrainDirectory _directory = null!;
    private RemoteGrainInvoker _remote = null!;
    private IHostApplicationLifetime _lifetime = null!;
    private IOptions<MembershipOptions> _options = null!;
    private bool _started;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _agent = services.GetRequiredService<MembershipAgent>();
        _node = services.GetRequiredService<LocalNode>();
        _catalog = services.GetRequiredService<GrainCatalog>();
        _directory = services.GetRequiredService<CachedGrainDirectory>();
        _remote = services.GetRequiredService<RemoteGrainInvoker>();
        _lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        _options = services.GetRequiredService<IOptions<MembershipOptions>>();
        _started = true;
        _agent.MembershipChanged += OnMembershipChanged;
        _agent.SelfDeclaredDead += OnSelfDeclaredDead;
        return Task.CompletedTask;
    }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await _agent.JoinAsync(cancellationToken).ConfigureAwait(false);
        _node.Serve(_agent.Address);
        logger.Serving(_agent.Address, _node.Endpoint, _options.Value.ClusterId);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (!_started || _node.Address is null)
        {
            return;
        }

        try
        {
            await _agent.BeginShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.ShutdownStepFailed(ex, "mark ShuttingDown");
        }

        // Still serving meanwhile, so the turns running here finish for their callers on other nodes.
        await _catalog.DeactivateAllAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            return;
        }

        _node.StopServing();
        try
        {
            await _agent.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Peers declare the node dead after the heartbeat timeout instead.
            logger.ShutdownStepFailed(ex, "leave the cluster");
        }
        finally
        {
            _agent.MembershipChanged -= OnMembershipChanged;
            _agent.SelfDeclaredDead -= OnSelfDeclaredDead;
        }
    }

    private void OnMembershipChanged(object? sender, MembershipSnapshot snapshot) =>
        MembershipReactions.Apply(snapshot, _directory, _remote, _knownDead, logger);

    private void OnSelfDeclaredDead(object? sender, SelfDeclaredDeadEventArgs e)
    {
        _node.StopServing();
        logger.StoppingAfterDeath(e.Address, e.Reason);
        _lifetime.StopApplication();
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
