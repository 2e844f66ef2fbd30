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
        // For orchestrators: answers once the host has started (migrations applied); the cluster join follows right after.
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        await app.RunAsync();
    }
}
