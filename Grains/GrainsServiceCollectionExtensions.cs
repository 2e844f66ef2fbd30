using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Placement;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Storage;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the conversation grain to a silo with what it needs: the <c>responses</c> table (migrations for both databases; the
    /// database itself comes from <see cref="StorageServiceCollectionExtensions.AddOrleansCodexStorage"/>), the node's CLI slots
    /// (section <c>Workers</c>), conversation options (section <c>Conversations</c>), the CLI providers (section <c>Cli</c>) with the
    /// pre-warming of the Codex app-server and the Claude spares (<c>Workers:Prewarm</c>), and placement: the provider filter and
    /// the load-aware director, fed by each silo's <see cref="INodeLoadService"/>. The silo's <c>providers</c> metadata is the
    /// caller's to publish (<see cref="ServedProviders"/>).
    /// </summary>
    public static ISiloBuilder AddConversationGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddMigrations(typeof(ConversationGrain).Assembly, "OrleansCodex.Grains.Conversations.Sql");

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
        services.TryAddSingleton(ServedProviders.Parse(configuration[ServedProviders.SettingName]));

        services.TryAddSingleton<ConversationStore>();
        services.TryAddSingleton<CliWorkerPool>();
        services.AddCliProviders(configuration);
        services.AddHostedService<CodexAppServerPrewarmer>();
        services.AddHostedService<ClaudeSparesPrewarmer>();

        services.AddOptions<NodeLoadOptions>().Bind(configuration.GetSection("Cluster"));
        silo.AddGrainService<NodeLoadService>();
        services.TryAddSingleton<NodeLoadServiceClient>();
        services.TryAddSingleton<NodeLoad>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<NodeLoad>());
        services.AddPlacementDirector<ConversationPlacementStrategy, ConversationPlacementDirector>();
        services.AddPlacementFilter<ServesProviderPlacementFilterStrategy, ServesProviderPlacementFilterDirector>(ServiceLifetime.Singleton);
        return silo;
    }
}
