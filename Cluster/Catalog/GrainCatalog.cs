using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>
/// The node's activation table: at most one activation per grain id, created by the first call, removed when it deactivates.
/// Creating an <see cref="ActivationData"/> runs no grain code, so a lost <c>GetOrAdd</c> race costs nothing and only the
/// winner is started.
/// </summary>
internal sealed class GrainCatalog(
    GrainTypeRegistry registry,
    IServiceProvider services,
    IGrainStorage storage,
    IActivationDirectory directory,
    TimeProvider timeProvider,
    IOptions<ClusterOptions> options,
    ILogger<GrainCatalog> logger) : IDisposable
{
    private readonly ConcurrentDictionary<GrainId, ActivationData> _activations = new();
    private readonly CancellationTokenSource _stopping = new();
    private IGrainFactory? _grainFactory;
    private volatile bool _stopped;
    private volatile bool _disposed;

    public IServiceProvider Services => services;

    public IGrainStorage Storage => storage;

    public IActivationDirectory Directory => directory;

    public TimeProvider TimeProvider => timeProvider;

    public ClusterOptions Options => options.Value;

    public ILogger Log => logger;

    // Resolved lazily: the factory itself depends on the catalog.
    public IGrainFactory GrainFactory => _grainFactory ??= services.GetRequiredService<IGrainFactory>();

    /// <summary>Cancelled when the node starts shutting down; given to activation work.</summary>
    public CancellationToken StoppingToken => _stopping.Token;

    public int ActivationCount => _activations.Count;

    /// <summary>Hands a call to the grain's activation, creating it if needed. Never throws: failures go to the request.</summary>
    public void Dispatch(GrainRequest request)
    {
        try
        {
            while (true)
            {
                var activation = GetOrCreateActivation(request.GrainId);
                if (activation is null)
                {
                    request.Fail(new SiloUnavailableException($"Node {Options.NodeId} is shutting down; grain {request.GrainId} was not called.", notDelivered: true));
                    return;
                }

                if (activation.TryAccept(request))
                {
                    return;
                }

                if (!activation.Deactivated.IsCompleted)
                {
                    // Deactivating: the call goes to the next activation, which must not start before this one is gone
                    // (its OnDeactivateAsync may still write state).
                    _ = RetryAfterDeactivationAsync(activation, request);
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            request.Fail(ex);
        }
    }

    private async Task RetryAfterDeactivationAsync(ActivationData activation, GrainRequest request)
    {
        await activation.Deactivated.ConfigureAwait(false);
        Dispatch(request);
    }

    private ActivationData? GetOrCreateActivation(GrainId grainId)
    {
        if (_activations.TryGetValue(grainId, out var existing))
        {
            return existing;
        }

        if (_stopped)
        {
            return null;
        }

        var grainClass = registry.FindClass(grainId.Type)
            ?? throw new InvalidOperationException($"No grain class has grain type '{grainId.Type}'.");
        var created = new ActivationData(this, grainClass, grainId);
        var winner = _activations.GetOrAdd(grainId, created);
        if (ReferenceEquals(winner, created))
        {
            created.Start();
        }

        return winner;
    }

    /// <summary>Removes this very activation (never a newer one of the same grain).</summary>
    public void Remove(ActivationData activation) =>
        _activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(activation.GrainId, activation));

    internal ActivationData? FindActivation(GrainId grainId) => _activations.GetValueOrDefault(grainId);

    /// <summary>Starts deactivating every activation idle for at least <see cref="ClusterOptions.IdleDeactivationAge"/>.</summary>
    public int CollectIdleActivations()
    {
        var now = timeProvider.GetUtcNow();
        var collected = 0;
        foreach (var activation in _activations.Values)
        {
            if (activation.TryCollectIdle(now, Options.IdleDeactivationAge))
            {
                collected++;
            }
        }

        return collected;
    }

    /// <summary>Refuses new activations and deactivates all current ones, waiting at most <see cref="ClusterOptions.ShutdownTimeout"/>.</summary>
    public async Task DeactivateAllAsync(CancellationToken cancellationToken)
    {
        // A host that stops twice, or stops after its container was disposed, has nothing left to deactivate.
        if (_stopped || _disposed)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(Options.ShutdownTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            // Repeated because a call racing with the stop flag may still have created an activation after a pass began.
            while (!_activations.IsEmpty)
            {
                var activations = _activations.Values.ToList();
                foreach (var activation in activations)
                {
                    activation.TryBeginDeactivation(DeactivationReasonCode.ShuttingDown);
                }

                await Task.WhenAll(activations.Select(a => a.Deactivated)).WaitAsync(linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            logger.ShutdownTimedOut(_activations.Count, Options.ShutdownTimeout);
        }
        finally
        {
            if (!_disposed)
            {
                await _stopping.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _stopping.Dispose();
    }
}
