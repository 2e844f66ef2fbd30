using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the conversation and worker grains with what they need: the <c>responses</c> table (migrations for both databases),
    /// the node's worker pool (section <c>Workers</c>), conversation options (section <c>Conversations</c>) and the CLI providers
    /// (section <c>Cli</c>) with the pre-warming of the Codex app-server and the Claude spares (<c>Workers:Prewarm</c>). Expects the grain runtime (<see cref="ClusterServiceCollectionExtensions.AddClusterRuntime"/>).
    /// </summary>
    public static IServiceCollection AddConversationGrains(this IServiceCollection services, IConfiguration configuration)
    {
        var assembly = typeof(ConversationGrain).Assembly;
        services.AddGrains(assembly);
        services.AddMigrations(assembly, "OrleansCodex.Grains.Conversations.Sql");

        services.AddOptions<ConversationOptions>()
            .Bind(configuration.GetSection(ConversationOptions.SectionName))
            .PostConfigure(options =>
            {
                // The default lives under the data directory and is created; a configured root must exist (a typo must not scatter data).
                options.CreateIfMissing = options.WorkDirectory is null;
                options.WorkDirectory ??= Path.Combine(configuration["Storage:DataDirectory"] ?? "data", "work");
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConversationOptions>, ConversationOptionsValidator>());
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());

        var served = ServedProviders.Parse(configuration[ServedProviders.SettingName]);
        services.TryAddSingleton(served);
        services.Configure<NodeMetadataOptions>(served.Publish);

        services.TryAddSingleton<ConversationStore>();
        services.TryAddSingleton<CliWorkerPool>();
        services.TryAddSingleton<INodeLoad>(sp => sp.GetRequiredService<CliWorkerPool>());
        services.AddCliProviders(configuration);
        services.AddHostedService<CodexAppServerPrewarmer>();
        services.AddHostedService<ClaudeSparesPrewarmer>();
        return services;
    }
}
