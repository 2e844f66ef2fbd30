using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Json;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Silo.Dashboard;
using OrleansCodex.Silo.Hosting;
using OrleansCodex.Silo.Membership;

namespace OrleansCodex.Api.Health;

/// <summary>
/// <c>GET /health</c>: open without a key; says per provider whether its CLI can run (here, or on a silo of the cluster) and, if
/// not, what to do; in a cluster, the silos with their providers and load; where the Orleans dashboard is.
/// </summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", GetHealth).WithTags("Health");
        return app;
    }

    public static async Task<JsonHttpResult<HealthReport>> GetHealth(HttpContext context, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        var node = services.GetRequiredService<IOptions<ClusterNodeOptions>>().Value;
        var local = services.GetService<ILocalSiloDetails>();
        var served = services.GetService<ServedProviders>();
        var statuses = services.GetService<IProviderStatusService>() is { } statusService && served is not null
            ? (await statusService.GetStatusesAsync(cancellationToken)).Where(s => served.Serves(s.Provider)).ToList()
            : [];
        var inCluster = node.ParsedMode == ClusterMode.Postgres;
        var silos = inCluster || statuses.Count < Enum.GetValues<CliProvider>().Length ? await SilosAsync(services, cancellationToken) : null;

        var providers = new List<ProviderHealth>();
        foreach (var provider in Enum.GetValues<CliProvider>())
        {
            if (statuses.FirstOrDefault(s => s.Provider == provider) is { } status)
            {
                providers.Add(new ProviderHealth(Name(provider), status.Available, status.Version, status.Message));
                continue;
            }

            // Not run here (a pure client, or a silo that leaves it to others): available when an active silo serves it.
            var servers = silos?.Where(s => s.Status == nameof(SiloStatus.Active) && ServedProviders.Lists(s.Providers, provider)).Select(s => s.Name).ToList() ?? [];
            providers.Add(servers.Count > 0
                ? new ProviderHealth(Name(provider), true, null, $"Served by {string.Join(", ", servers)}.")
                : new ProviderHealth(Name(provider), false, null, silos is null
                    ? "The cluster's silos could not be reached from this node."
                    : $"No active silo of the cluster serves {Name(provider)} (Cluster:Providers)."));
        }

        ClusterHealth? cluster = null;
        if (inCluster)
        {
            var members = silos?.Select(s => new ClusterMemberHealth(s.Name, s.Address.ToString(), s.Status, s.Load, s.Providers)).ToList()
                ?? services.GetRequiredService<IClusterMembershipView>().Members.Select(m => new ClusterMemberHealth(m.Name, m.Address.ToString(), m.Status, null, null)).ToList();
            var serving = local is null
                ? silos is not null
                : services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.GetSiloStatus(local.SiloAddress) == SiloStatus.Active;
            cluster = new ClusterHealth(node.NodeId!, local is null ? "client" : "silo", serving, local?.SiloAddress.ToString(), members);
        }

        var healthy = providers.All(p => p.Available) && (cluster is null || cluster.Serving);
        return TypedResults.Json(new HealthReport(healthy ? "ok" : "degraded", providers, DashboardAccess.Path, cluster, WorkersOf(services)),
            OpenAiJsonContext.Default.HealthReport);
    }

    /// <summary>The cluster's silos as one of them sees them; null when none answers within two seconds.</summary>
    private static async Task<IReadOnlyList<SiloInfo>?> SilosAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        try
        {
            return await services.GetRequiredService<IGrainFactory>().GetGrain<IClusterInfoGrain>(0).GetSilos()
                .WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return null;
        }
    }

    /// <summary>The node's worker slots and warm processes per provider served; null where no CLI runs (a pure client).</summary>
    private static List<WorkerHealth>? WorkersOf(IServiceProvider services)
    {
        if (services.GetService<CliWorkerPool>() is not { } pool)
        {
            return null;
        }

        var slots = services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var cli = services.GetRequiredService<IOptions<CliOptions>>().Value;
        var served = services.GetRequiredService<ServedProviders>();
        var workers = new List<WorkerHealth>();
        if (served.Serves(CliProvider.Codex))
        {
            var appServer = cli.CodexMode == CodexMode.AppServer;
            workers.Add(new WorkerHealth("codex", appServer ? "app-server" : "exec", slots.Codex, slots.Codex - pool.IdleCount(CliProvider.Codex),
                pool.QueuedCount(CliProvider.Codex), appServer && services.GetRequiredService<CodexAppServer>().ProcessId is not null ? 1 : 0, null));
        }

        if (served.Serves(CliProvider.Claude))
        {
            var stream = cli.ClaudeMode == ClaudeMode.Stream;
            workers.Add(new WorkerHealth("claude", stream ? "stream" : "print", slots.Claude, slots.Claude - pool.IdleCount(CliProvider.Claude),
                pool.QueuedCount(CliProvider.Claude), stream ? services.GetRequiredService<ClaudeProcessPool>().Count : 0,
                stream ? services.GetRequiredService<ClaudeSpares>().Count : null));
        }

        return workers;
    }

    private static string Name(CliProvider provider) => provider.ToString().ToLowerInvariant();
}
