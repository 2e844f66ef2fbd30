using System.Text.Json.Serialization;
using OrleansCodex.Silo.Dashboard;

namespace OrleansCodex.Silo.Hosting;

public static class SiloHealthEndpoint
{
    /// <summary><c>GET /health</c> of a silo, for orchestrators: 200 once the silo is an active member of its cluster, else 503.</summary>
    public static IEndpointRouteBuilder MapSiloHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", (ILocalSiloDetails silo, IClusterMembershipService membership) =>
        {
            var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
            var serving = status == SiloStatus.Active;
            return Results.Json(new SiloHealth(serving ? "ok" : "unavailable", silo.Name, silo.SiloAddress.ToString(), status.ToString(), DashboardAccess.Path),
                SiloJsonContext.Default.SiloHealth, statusCode: serving ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return endpoints;
    }
}

/// <summary>The silo's <c>GET /health</c> answer.</summary>
internal sealed record SiloHealth(string Status, string NodeId, string Silo, string SiloStatus, string Dashboard);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SiloHealth))]
internal sealed partial class SiloJsonContext : JsonSerializerContext;
