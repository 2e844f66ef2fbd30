using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Grains;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Silo.Hosting;

/// <summary>Wires a grain host (runtime, storage, grains, CLI providers), or a pure client of one, into an application.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Adds the silo: the grain runtime with its storage, the conversation and worker grains, and the CLI providers. With
    /// <c>Cluster:Mode</c> = <c>Postgres</c> it joins the cluster; the host must then call <c>MapClusterEndpoints()</c>.
    /// </summary>
    public static IHostApplicationBuilder AddOrleansCodexSilo(this IHostApplicationBuilder builder)
    {
        builder.Configuration.AddLegacyEnvironmentAliases();
        builder.Services.AddClusterRuntime(builder.Configuration);
        builder.Services.AddConversationGrains(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Adds a pure client of a cluster (<c>Cluster:Mode</c> = <c>Postgres</c>): grain calls go to the silos, nothing runs CLIs here.
    /// </summary>
    public static IHostApplicationBuilder AddOrleansCodexClient(this IHostApplicationBuilder builder)
    {
        builder.Configuration.AddLegacyEnvironmentAliases();
        builder.Services.AddClusterClient(builder.Configuration);
        // The client only needs the grain types (names, placement); the grains' services live on the silos.
        builder.Services.AddGrains(typeof(ConversationGrain).Assembly);
        return builder;
    }
}
