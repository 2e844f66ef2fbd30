using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenAI;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Silo.Membership;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>The real front end over fake conversations and provider status, with an API key set.</summary>
public sealed class ApiFactory : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-key-0123456789";

    public FakeConversations Conversations { get; } = new();

    public FakeProviderStatus Providers { get; } = new();

    public FakeModelCatalog ModelCatalog { get; } = new();

    /// <summary>Extra settings applied on top of the defaults (set before the first client is created).</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Auth:ApiKey"] = ApiKey,
        ["Api:KeepAliveInterval"] = "00:00:01",
        ["Api:FirstEventWait"] = "00:00:02",
        ["Api:MaxRequestBodyBytes"] = "65536",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        builder.ConfigureTestServices(services =>
        {
            // HTTP-layer tests: no Orleans silo, storage or CLI probing; the silo's own tests and the end-to-end tests cover those.
            foreach (var hosted in services.Where(IsSiloHostedService).ToList())
            {
                services.Remove(hosted);
            }

            services.AddSingleton<IGrainFactory>(Conversations);
            services.AddSingleton<IClusterMembershipView>(new NoMembership());
            services.AddSingleton<IProviderStatusService>(Providers);
            services.AddSingleton<ICliModelCatalog>(ModelCatalog);
        });
    }

    private static bool IsSiloHostedService(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IHostedService)
        && (descriptor.ImplementationType ?? descriptor.ImplementationFactory?.Method.DeclaringType ?? descriptor.ImplementationInstance?.GetType())
            ?.Assembly.GetName().Name is { } assembly
        && (assembly.StartsWith("Orleans.", StringComparison.Ordinal) || assembly.StartsWith("OrleansCodex.", StringComparison.Ordinal))
        && assembly != "OrleansCodex.Api";

    /// <summary>No silo ever dies here (the fake conversations run in this process).</summary>
    private sealed class NoMembership : IClusterMembershipView
    {
        public IReadOnlyList<KnownSilo> Members => [];

        public Task WhenDeadAsync(SiloAddress silo, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
    }

    public HttpClient CreateAuthorizedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        client.Timeout = TimeSpan.FromSeconds(30);
        return client;
    }

    /// <summary>The official OpenAI .NET SDK, talking to the in-memory server.</summary>
    public OpenAIClient CreateOpenAiClient()
    {
        var http = CreateClient();
        http.Timeout = TimeSpan.FromSeconds(30);
        return new OpenAIClient(new ApiKeyCredential(ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
            NetworkTimeout = TimeSpan.FromSeconds(30),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
    }
}
