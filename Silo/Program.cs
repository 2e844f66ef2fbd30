using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo;

/// <summary>The grain host executable. Named (not top-level) so that projects referencing both Silo and Api see one <c>Program</c>.</summary>
internal static class SiloProgram
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddOrleansCodexSilo();
        await using var app = builder.Build();
        await app.RunAsync();
    }
}
