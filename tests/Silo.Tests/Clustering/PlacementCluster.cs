using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;
using OrleansCodex.Grains;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Placement;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>
/// Silos in this process (Orleans' <see cref="InProcessTestCluster"/>, in-memory transport and membership) with our placement as
/// the service registers it (<see cref="GrainsServiceCollectionExtensions.AddConversationGrains"/>: the provider filter, the
/// load-aware director, each silo's <see cref="INodeLoadService"/>), the silo metadata <c>providers</c> from <c>Cluster:Providers</c>,
/// and the failure detection and distributed grain directory of a PostgreSQL cluster. No CLI runs: a silo's load is what the
/// tests take from its <see cref="CliWorkerPool"/>. Silo <c>i</c> is named <c>Silo_i</c>.
/// </summary>
public sealed class PlacementCluster : IAsyncDisposable
{
    /// <summary>How often a silo polls the others' load here (1 s in the service).</summary>
    public static readonly TimeSpan LoadRefreshPeriod = TimeSpan.FromMilliseconds(200);

    /// <summary>CLI slots per provider on each silo.</summary>
    public const int SlotsPerProvider = 2;

    private readonly string _dataDirectory;

    private PlacementCluster(InProcessTestCluster cluster, string dataDirectory)
    {
        Cluster = cluster;
        _dataDirectory = dataDirectory;
    }

    public InProcessTestCluster Cluster { get; }

    /// <summary>A pure client, connected to every silo's gateway.</summary>
    public IClusterClient Client => Cluster.Client;

    /// <summary>Starts one silo per entry of <paramref name="providersPerSilo"/> (its <c>Cluster:Providers</c>) and a client.</summary>
    public static async Task<PlacementCluster> StartAsync(params string[] providersPerSilo)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"silo-cluster-tests-{Guid.NewGuid():N}");
        var builder = new InProcessTestClusterBuilder((short)providersPerSilo.Length);
#pragma warning disable ORLEANSEXP003 // The service runs the distributed directory (SiloHostingExtensions.ConfigureFailureDetection).
        builder.Options.UseDistributedGrainDirectory = true;
#pragma warning restore ORLEANSEXP003
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((silo, host) =>
        {
            var providers = providersPerSilo[int.Parse(silo.SiloName["Silo_".Length..], System.Globalization.CultureInfo.InvariantCulture)];
            host.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [ServedProviders.SettingName] = providers,
                ["Cluster:LoadRefreshPeriod"] = LoadRefreshPeriod.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
                ["Workers:Codex"] = $"{SlotsPerProvider}",
                ["Workers:Claude"] = $"{SlotsPerProvider}",
                ["Workers:Prewarm"] = "false",
                ["Storage:DataDirectory"] = Path.Combine(dataDirectory, silo.SiloName),
            });
            host.UseOrleans(orleans =>
            {
                // As AddOrleansCodexSilo publishes it.
                orleans.UseSiloMetadata(new Dictionary<string, string>
                {
                    [ModelRouting.ProvidersMetadataKey] = ServedProviders.Parse(host.Configuration[ServedProviders.SettingName]).Setting,
                });
                orleans.AddConversationGrains(host.Configuration);
                SiloHostingExtensions.ConfigureFailureDetection(orleans);
                orleans.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            });
        });
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10)));
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var started = new PlacementCluster(cluster, dataDirectory);
            await started.WaitForMetadataAsync();
            return started;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public InProcessSiloHandle Silo(int index) => Cluster.Silos.Single(s => s.Name == Name(index));

    public static string Name(int index) => $"Silo_{index}";

    /// <summary>Calls made with this factory start on silo <paramref name="index"/>: placement there decides where a new grain goes.</summary>
    public IGrainFactory GrainsOn(int index) => Silo(index).ServiceProvider.GetRequiredService<IGrainFactory>();

    public CliWorkerPool PoolOf(int index) => Silo(index).ServiceProvider.GetRequiredService<CliWorkerPool>();

    public NodeLoad LoadsSeenBy(int index) => Silo(index).ServiceProvider.GetRequiredService<NodeLoad>();

    /// <summary>Takes every slot of <paramref name="provider"/> on a silo (load 1) until the returned leases are disposed.</summary>
    public async Task<IAsyncDisposable> SaturateAsync(int index, CliProvider provider)
    {
        var pool = PoolOf(index);
        var leases = new List<IDisposable>();
        for (var i = 0; i < pool.Capacity(provider); i++)
        {
            var acquisition = await pool.AcquireAsync(provider, CancellationToken.None).WaitAsync(TestTimeouts.Wait);
            leases.Add(acquisition.Lease ?? throw new InvalidOperationException($"No free {provider} slot on {Name(index)}: {acquisition.Refusal}"));
        }

        Assert.Equal(1.0, pool.CurrentLoad);
        return new Leases(leases);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await Cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Placement filters read other silos' metadata from a cache filled as silos join: wait until every silo knows every other's.</summary>
    private async Task WaitForMetadataAsync()
    {
        var silos = Cluster.Silos.ToList();
        await TestTimeouts.EventuallyAsync(
            () => silos.All(observer =>
            {
                var cache = observer.ServiceProvider.GetRequiredService<ISiloMetadataCache>();
                return silos.All(peer => cache.GetSiloMetadata(peer.SiloAddress).Metadata.ContainsKey(ModelRouting.ProvidersMetadataKey));
            }),
            TestTimeouts.Wait,
            "every silo knows every silo's providers");
    }

    private sealed class Leases(List<IDisposable> leases) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            leases.ForEach(l => l.Dispose());
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The three silos most placement tests share: providers codex, claude, and both.</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    public const int CodexOnly = 0;
    public const int ClaudeOnly = 1;
    public const int Both = 2;

    private PlacementCluster? _cluster;

    public PlacementCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public async Task InitializeAsync() => _cluster = await PlacementCluster.StartAsync("codex", "claude", "codex,claude");

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Tests that start several silos run one at a time, after the others, so that neither their load nor their time bounds
/// disturb other tests (or the reverse). The three-silo cluster is shared by the placement, activation and stream tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<SharedClusterFixture>
{
    public const string Name = "Cluster";
}
