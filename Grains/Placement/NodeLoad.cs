using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Services;
using Orleans.Services;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Placement;

/// <summary>One per silo (an Orleans grain service): that silo's CLI load, read by the other silos' placement.</summary>
public interface INodeLoadService : IGrainService
{
    /// <summary>The silo's <see cref="CliWorkerPool.CurrentLoad"/>: 1 when every CLI slot of some provider is busy, more with turns waiting.</summary>
    Task<double> GetLoad();
}

internal sealed class NodeLoadService(GrainId grainId, Silo silo, ILoggerFactory loggerFactory, CliWorkerPool pool)
    : GrainService(grainId, silo, loggerFactory), INodeLoadService
{
    public Task<double> GetLoad() => Task.FromResult(pool.CurrentLoad);
}

/// <summary>Calls a given silo's <see cref="INodeLoadService"/>.</summary>
public sealed class NodeLoadServiceClient(IServiceProvider services) : GrainServiceClient<INodeLoadService>(services)
{
    public Task<double> GetLoadAsync(SiloAddress silo) => GetGrainService(silo).GetLoad();
}

/// <summary>Placement's settings (section <c>Cluster</c>).</summary>
public sealed class NodeLoadOptions
{
    /// <summary>How often a silo asks the other active silos for their load.</summary>
    /// <value>1 second by default.</value>
    public TimeSpan LoadRefreshPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The CLI load of every active silo as this silo last saw it: its own exactly (<see cref="CliWorkerPool"/>), the others polled every
/// <see cref="NodeLoadOptions.LoadRefreshPeriod"/> through their <see cref="INodeLoadService"/>. A silo not heard from counts as idle.
/// </summary>
public sealed partial class NodeLoad(
    IClusterMembershipService membership,
    NodeLoadServiceClient client,
    ILocalSiloDetails local,
    CliWorkerPool pool,
    IOptions<NodeLoadOptions> options,
    TimeProvider timeProvider,
    ILogger<NodeLoad> logger) : BackgroundService
{
    private volatile IReadOnlyDictionary<SiloAddress, double> _remote = new Dictionary<SiloAddress, double>();

    /// <summary>A silo's load (0 idle … 1 saturated, more with turns waiting).</summary>
    public double Of(SiloAddress silo) => silo.Equals(local.SiloAddress) ? pool.CurrentLoad : _remote.GetValueOrDefault(silo);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LoadRefreshPeriod, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var others = membership.CurrentSnapshot.Members.Values
                    .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress))
                    .Select(m => m.SiloAddress)
                    .ToList();
                var loads = await Task.WhenAll(others.Select(async silo => (silo, load: await TryGetLoadAsync(silo, stoppingToken))));
                _remote = loads.Where(l => l.load is not null).ToDictionary(l => l.silo, l => l.load!.Value);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<double?> TryGetLoadAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetLoadAsync(silo).WaitAsync(options.Value.LoadRefreshPeriod, timeProvider, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogLoadUnknown(silo, e.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "No load from silo {Silo} ({Reason}); it counts as idle")]
    private partial void LogLoadUnknown(SiloAddress silo, string reason);
}
