using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Grains;

namespace OrleansCodex.Silo.Hosting;

/// <summary>Wires a grain host (runtime, storage, grains, CLI providers) into an application.</summary>
public static class SiloHostingExtensions
{
    /// <summary>Adds the silo: the grain runtime with its storage, the conversation and worker grains, and the CLI providers.</summary>
    public static IHostApplicationBuilder AddOrleansCodexSilo(this IHostApplicationBuilder builder)
    {
        builder.Configuration.AddLegacyEnvironmentAliases();
        builder.Services.AddClusterRuntime(builder.Configuration);
        builder.Services.AddConversationGrains(builder.Configuration);
        return builder;
    }
}
