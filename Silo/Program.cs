using System.Text.Json.Serialization;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo;

/// <summary>The grain host executable. Named (not top-level) so that projects referencing both Silo and Api see one <c>Program</c>.</summary>
internal static class SiloProgram
{
    public static async Task Main(string[] args)
    {
        // Settings ship next to the binary; the working directory is where data goes.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddOrleansCodexSilo();
        await using var app = builder.Build();
        app.MapClusterEndpoints();
        // For orchestrators: 200 once the node serves (in a cluster: joined and not declared dead), else 503.
        app.MapGet("/health", (IServiceProvider services) =>
        {
            var cluster = services.GetService<IClusterStatus>();
            var serving = cluster is null || cluster.ServingAs is not null;
            return Results.Json(
                new SiloHealth(serving ? "ok" : "unavailable", cluster?.NodeId, cluster?.ServingAs?.Incarnation),
                SiloJsonContext.Default.SiloHealth,
                statusCode: serving ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        await app.RunAsync();
    }
}

/// <summary>The silo's <c>GET /health</c> answer.</summary>
internal sealed record SiloHealth(string Status, string? NodeId, long? Incarnation);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SiloHealth))]
internal sealed partial class SiloJsonContext : JsonSerializerContext;
