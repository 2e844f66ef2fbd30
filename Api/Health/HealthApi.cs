using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Json;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Api.Health;

/// <summary><c>GET /health</c>: open without a key; says per provider whether its CLI can run here and, if not, what to do.</summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", GetHealth).WithTags("Health");
        return app;
    }

    public static async Task<JsonHttpResult<HealthReport>> GetHealth(HttpContext context, CancellationToken cancellationToken)
    {
        IReadOnlyList<ProviderHealth> providers;
        var cluster = context.RequestServices.GetService<IClusterStatus>();
        if (context.RequestServices.GetService<IProviderStatusService>() is { } statusService)
        {
            var statuses = await statusService.GetStatusesAsync(cancellationToken);
            providers = statuses.Select(s => new ProviderHealth(Name(s.Provider), s.Available, s.Version, s.Message)).ToList();
        }
        else if (cluster is not null)
        {
            // A pure client runs no CLI: a provider is available when some active silo serves it.
            var active = cluster.Membership?.ActiveMembers.ToList() ?? [];
            providers = Enum.GetValues<CliProvider>().Select(p =>
            {
                var servers = active.Where(m => Serves(m, p)).Select(m => m.Address.NodeId).ToList();
                return servers.Count > 0
                    ? new ProviderHealth(Name(p), true, null, $"Served by {string.Join(", ", servers)}.")
                    : new ProviderHealth(Name(p), false, null, $"No active silo of the cluster serves {Name(p)}.");
            }).ToList();
        }
        else
        {
            providers = Enum.GetValues<CliProvider>()
                .Select(p => new ProviderHealth(Name(p), false, null, "No provider status service is registered on this node: the grain host (AddOrleansCodexSilo) is not running here."))
                .ToList();
        }

        var clusterHealth = cluster is null ? null : ClusterHealthOf(cluster);
        var healthy = providers.Count > 0 && providers.All(p => p.Available) && (clusterHealth is null || clusterHealth.Serving || clusterHealth.Role == "client");
        return TypedResults.Json(new HealthReport(healthy ? "ok" : "degraded", providers, clusterHealth, WorkersOf(context.RequestServices)),
            OpenAiJsonContext.Default.HealthReport);
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

    private static ClusterHealth ClusterHealthOf(IClusterStatus cluster)
    {
        var members = (cluster.Membership?.Members ?? [])
            .Where(m => m.Status != NodeStatus.Dead)
            .Select(m => new ClusterMemberHealth(m.Address.NodeId, m.Address.Incarnation, m.Status.ToString(), m.Endpoint, m.Load,
                m.Metadata.GetValueOrDefault(ModelRouting.ProvidersMetadataKey)))
            .ToList();
        var serving = cluster.ServingAs;
        return new ClusterHealth(cluster.NodeId, cluster.HostsGrains ? "silo" : "client", serving is not null, serving?.Incarnation, members);
    }

    private static bool Serves(MembershipEntry member, CliProvider provider) =>
        member.Metadata.TryGetValue(ModelRouting.ProvidersMetadataKey, out var providers)
        && providers.Split(',', StringSplitOptions.TrimEntries).Contains(ModelRouting.ProviderName(provider), StringComparer.OrdinalIgnoreCase);

    private static string Name(CliProvider provider) => provider.ToString().ToLowerInvariant();
}
