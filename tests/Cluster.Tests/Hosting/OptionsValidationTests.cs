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
