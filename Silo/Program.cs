using OrleansCodex.Silo.Dashboard;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo;

/// <summary>The silo-only executable: grains and CLIs, the Orleans dashboard and <c>/health</c>, no OpenAI front end. Named (not
/// top-level) so that projects referencing both Silo and Api see one <c>Program</c>.</summary>
internal static class SiloProgram
{
    public static async Task Main(string[] args)
    {
        // Settings ship next to the binary; the working directory is where data goes.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddOrleansCodexLogging();
        builder.AddOrleansCodexSilo();
        builder.AddOrleansDashboardAccess();
        await using var app = builder.Build();
        app.UseOrleansDashboardAccess();
        app.MapSiloHealth();
        app.MapOrleansDashboardWithAccess();
        await app.RunAsync();
    }
}
