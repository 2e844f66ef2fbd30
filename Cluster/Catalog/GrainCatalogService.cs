using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>
/// Runs the idle-activation scan every <see cref="ClusterOptions.CollectionScanPeriod"/> on the injected clock, and deactivates
/// every activation when the host stops. Its dependencies are resolved in <see cref="StartAsync"/>, after the host validated
/// options (the host builds hosted services before validating).
/// </summary>
internal sealed class GrainCatalogService(IServiceProvider services, ILogger<GrainCatalogService> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private GrainCatalog? _catalog;
    private PeriodicTimer? _timer;
    private Task _scanLoop = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _catalog = services.GetRequiredService<GrainCatalog>();
        var options = services.GetRequiredService<IOptions<ClusterOptions>>();
        var timeProvider = services.GetRequiredService<TimeProvider>();
        // Created here, not in a background task, so the first period is measured from start-up (a test clock may advance right after).
        _timer = new PeriodicTimer(options.Value.CollectionScanPeriod, timeProvider);
        _scanLoop = ScanAsync(_catalog, _timer, _stop.Token);
        return Task.CompletedTask;
    }

    private async Task ScanAsync(GrainCatalog catalog, PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var collected = catalog.CollectIdleActivations();
                if (collected > 0)
                {
                    logger.IdleActivationsCollected(collected);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _timer?.Dispose();
        await _scanLoop.ConfigureAwait(false);
        if (_catalog is not null)
        {
            await _catalog.DeactivateAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
