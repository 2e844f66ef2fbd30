using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;

namespace OrleansCodex.Grains.Providers;

public static class CliProvidersServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="CliOptions"/> (section <c>Cli</c>, validated on start), the two <see cref="ICliRunner"/>s (Codex's is
    /// <see cref="CodexAppServerRunner"/> or <see cref="CodexExecRunner"/> as <see cref="CliOptions.CodexMode"/> says; Claude's is
    /// <see cref="ClaudeStreamRunner"/> or <see cref="ClaudePrintRunner"/> as <see cref="CliOptions.ClaudeMode"/> says) and
    /// <see cref="IProviderStatusService"/>, which checks the CLIs in the background from start-up. The app-server process is
    /// started by the first Codex turn in app-server mode (or at start-up by the <see cref="CodexAppServerPrewarmer"/> that
    /// <c>AddConversationGrains</c> adds), a persistent Claude process by the first turn of its session in stream mode (or taken from the <see cref="ClaudeSpares"/>); all are
    /// ended when the container is disposed.
    /// </summary>
    public static IServiceCollection AddCliProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CliOptions>().Bind(configuration.GetSection(CliOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CliOptions>, CliOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<CodexExecRunner>();
        services.TryAddSingleton<CodexAppServer>();
        services.TryAddSingleton<CodexAppServerRunner>();
        services.TryAddSingleton<ClaudePrintRunner>();
        services.TryAddSingleton<ClaudeProcessPool>();
        services.TryAddSingleton<ClaudeSpares>();
        services.TryAddSingleton<ClaudeStreamRunner>();
        services.AddSingleton<ICliRunner>(sp => sp.GetRequiredService<IOptions<CliOptions>>().Value.CodexMode == CodexMode.AppServer
            ? sp.GetRequiredService<CodexAppServerRunner>()
            : sp.GetRequiredService<CodexExecRunner>());
        services.AddSingleton<ICliRunner>(sp => sp.GetRequiredService<IOptions<CliOptions>>().Value.ClaudeMode == ClaudeMode.Stream
            ? sp.GetRequiredService<ClaudeStreamRunner>()
            : sp.GetRequiredService<ClaudePrintRunner>());

        services.TryAddSingleton<CliModelCatalog>();
        services.TryAddSingleton<ICliModelCatalog>(sp => sp.GetRequiredService<CliModelCatalog>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<CliModelCatalog>());

        services.TryAddSingleton<ProviderStatusService>();
        services.TryAddSingleton<IProviderStatusService>(sp => sp.GetRequiredService<ProviderStatusService>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ProviderStatusService>());
        return services;
    }
}
