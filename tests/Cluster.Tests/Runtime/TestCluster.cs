using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansCodex.Cluster.Catalog;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Testing.Time;

namespace OrleansCodex.Cluster.Tests.Runtime;

/// <summary>A single-node host on a temporary SQLite file and a manual clock, with the test grains registered.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly string _directory;

    private TestCluster(IHost host, string directory, ManualTimeProvider clock)
    {
        Host = host;
        _directory = directory;
        Clock = clock;
    }

    public IHost Host { get; }

    public ManualTimeProvider Clock { get; }

    public IGrainFactory Grains => Host.Services.GetRequiredService<IGrainFactory>();

    public GrainProbe Probe => Host.Services.GetRequiredService<GrainProbe>();

    public IGrainStorage Storage => Host.Services.GetRequiredService<IGrainStorage>();

    public ClusterDatabase Database => Host.Services.GetRequiredService<ClusterDatabase>();

    internal GrainCatalog Catalog => Host.Services.GetRequiredService<GrainCatalog>();

    public static IHost Build(IDictionary<string, string?> settings, ManualTimeProvider clock)
    {
        // No default sources: the machine's environment variables must not change what the tests see.
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton<GrainProbe>();
        builder.Services.AddClusterRuntime(builder.Configuration).AddGrains(typeof(TestCluster).Assembly);
        return builder.Build();
    }

    public static async Task<TestCluster> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"cluster-tests-{Guid.NewGuid():N}");
        var all = new Dictionary<string, string?> { ["Storage:DataDirectory"] = directory };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var clock = new ManualTimeProvider();
        var host = Build(all, clock);
        using var timeout = new CancellationTokenSource(TestTimeouts.Wait);
        await host.StartAsync(timeout.Token);
        return new TestCluster(host, directory, clock);
    }

    /// <summary>Polls (bounded) until the condition holds; for outcomes that happen on the runtime's own threads.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TestTimeouts.Wait))
        {
            await Host.StopAsync(timeout.Token);
        }

        if (Host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            Host.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
