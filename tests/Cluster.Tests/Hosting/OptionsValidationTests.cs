using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Hosting;

public sealed class OptionsValidationTests
{
    [Fact]
    public async Task Options_SeveralInvalidSettings_StartFailsNamingEverySetting()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Mongo",
            ["Cluster:IdleDeactivationAge"] = "00:00:00",
            ["Cluster:CollectionScanPeriod"] = "-00:00:01",
        }, new ManualTimeProvider());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));
        var messages = Flatten(error);

        Assert.Contains("Storage:Provider must be Sqlite or Postgres, not 'Mongo'.", messages);
        Assert.Contains("Cluster:IdleDeactivationAge must be a positive time span (e.g. 00:15:00), not '00:00:00'.", messages);
        Assert.Contains("Cluster:CollectionScanPeriod must be a positive time span (e.g. 00:15:00), not '-00:00:01'.", messages);
    }

    [Fact]
    public async Task Options_PostgresWithoutConnectionString_StartFailsNamingConnectionString()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?> { ["Storage:Provider"] = "Postgres" }, new ManualTimeProvider());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains("ConnectionStrings:Postgres is required when Storage:Provider is Postgres.", Flatten(error));
    }

    [Fact]
    public void Options_NothingConfigured_UseDocumentedDefaults()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?>(), new ManualTimeProvider());

        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var storage = host.Services.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(15), cluster.IdleDeactivationAge);
        Assert.Equal(TimeSpan.FromMinutes(1), cluster.CollectionScanPeriod);
        Assert.Equal(TimeSpan.FromSeconds(30), cluster.ShutdownTimeout);
        Assert.Equal($"{Environment.MachineName}-{Environment.ProcessId}", cluster.NodeId);
        Assert.Equal(DatabaseKind.Sqlite, storage.Kind);
        Assert.Equal(Path.Combine("data", "orleanscodex.db"), storage.EffectiveSqlitePath);
    }

    [Fact]
    public void Options_PostgresConfigured_RegistersPostgresDatabase()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Username=postgres",
        }, new ManualTimeProvider());

        Assert.IsType<PostgresClusterDatabase>(host.Services.GetRequiredService<ClusterDatabase>());
    }

    [Fact]
    public void AddClusterRuntime_HostedServices_MigrationsComeFirst()
    {
        var services = new ServiceCollection();
        services.AddHostedService<NoopService>();
        services.AddClusterRuntime(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());

        var first = services.First(d => d.ServiceType == typeof(IHostedService));

        Assert.Equal("MigrationService", first.ImplementationType?.Name);
    }

    [Fact]
    public async Task Options_UnknownClusterMode_StartFailsNamingIt()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?> { ["Cluster:Mode"] = "Zookeeper" }, new ManualTimeProvider());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains("Cluster:Mode must be Local or Postgres, not 'Zookeeper'.", Flatten(error));
    }

    [Fact]
    public async Task Options_PostgresModeWithoutSecretConnectionOrAddress_StartFailsNamingEachSetting()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?> { ["Cluster:Mode"] = "Postgres" }, new ManualTimeProvider());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));
        var messages = Flatten(error);

        // Storage follows the cluster to PostgreSQL, so its connection string is required; peers need an address and the secret.
        Assert.Contains("ConnectionStrings:Postgres is required when Storage:Provider is Postgres.", messages);
        Assert.Contains(messages, m => m.StartsWith("Cluster:AdvertisedUrl is required in Postgres mode", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Cluster:Secret is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Options_AdvertisedUrlNotHttp_StartFailsNamingIt()
    {
        using var host = TestCluster.Build(new Dictionary<string, string?>
        {
            ["Cluster:Mode"] = "Postgres",
            ["Cluster:AdvertisedUrl"] = "ftp://node-1/",
            ["Cluster:Secret"] = "0123456789abcdef0123",
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Username=postgres",
        }, new ManualTimeProvider());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains("Cluster:AdvertisedUrl must be an absolute http(s) URL, not 'ftp://node-1/'.", Flatten(error));
    }

    [Fact]
    public async Task Options_PureClientInLocalMode_StartFailsSayingItNeedsPostgres()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging();
        builder.Services.AddClusterClient(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains(Flatten(error), m => m.StartsWith("A pure cluster client needs Cluster:Mode = Postgres", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://*:8080", true)]
    [InlineData("http://+:8080;http://127.0.0.1:9090", true)]
    [InlineData("http://10.0.0.5:8080", false)]
    public void AdvertisedEndpoint_NotSet_DerivedFromFirstListenUrl(string urls, bool wildcard)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls })
            .Build();

        var endpoint = ClusterServiceCollectionExtensions.AdvertisedEndpoint(new ClusterOptions(), configuration);

        Assert.Equal(wildcard ? $"http://{Environment.MachineName}:8080/".ToLowerInvariant() : "http://10.0.0.5:8080/", endpoint);
    }

    [Fact]
    public void AdvertisedEndpoint_Set_WinsOverListenUrls()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "http://*:8080" })
            .Build();

        Assert.Equal("http://node-7:9000/", ClusterServiceCollectionExtensions.AdvertisedEndpoint(new ClusterOptions { AdvertisedUrl = "http://node-7:9000/" }, configuration));
    }

    private static List<string> Flatten(Exception error) => error switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Flatten).ToList(),
        OptionsValidationException validation => validation.Failures.ToList(),
        _ => [error.Message],
    };

    private sealed class NoopService : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }
}
