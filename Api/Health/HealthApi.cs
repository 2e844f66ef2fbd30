using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCodex.Api.Json;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

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
        if (context.RequestServices.GetService<IProviderStatusService>() is { } statusService)
        {
            var statuses = await statusService.GetStatusesAsync(cancellationToken);
            providers = statuses.Select(s => new ProviderHealth(Name(s.Provider), s.Available, s.Version, s.Message)).ToList();
        }
        else
        {
            providers = Enum.GetValues<CliProvider>()
                .Select(p => new ProviderHealth(Name(p), false, null, "No provider status service is registered on this node: the grain host (AddOrleansCodexSilo) is not running here."))
                .ToList();
        }

        var status = providers.Count > 0 && providers.All(p => p.Available) ? "ok" : "degraded";
        return TypedResults.Json(new HealthReport(status, providers), OpenAiJsonContext.Default.HealthReport);
    }

    private static string Name(CliProvider provider) => provider.ToString().ToLowerInvariant();
}
