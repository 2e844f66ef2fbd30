using System.Diagnostics;
using Xunit.Abstractions;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>
/// A silo dies: its grains come back elsewhere on the next call, and grains on the healthy silos keep their activation (the
/// distributed directory without range leases). This is an in-process kill (<c>KillSiloAsync</c>: the host stops without grace,
/// but Orleans' membership agent still writes <c>Stopping</c> to the table, so the peers learn of it at once): failure
/// <em>detection</em> of a crashed or hung process is not exercised here; the service's process-level tests do that.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    /// <summary>Measured ~1.7 s with processes; the bound leaves room for a loaded 2-core machine.</summary>
    private static readonly TimeSpan _failoverBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task SiloKilled_ItsGrainsReactivateElsewhereWithinBound_OtherGrainsKeepTheirActivation()
    {
        await using var cluster = await PlacementCluster.StartAsync("codex,claude", "codex,claude", "codex,claude");
        const int victim = 1;
        var before = new Dictionary<string, CallRecord>();
        for (var silo = 0; silo < 3; silo++)
        {
            for (var i = 0; i < 5; i++)
            {
                var key = $"failover-{silo}-{i}";
                before[key] = await cluster.GrainsOn(silo).GetGrain<IPlacedGrain>(key).Enter().WaitAsync(TestTimeouts.Wait);
                Assert.Equal(PlacementCluster.Name(silo), before[key].Silo);
            }
        }

        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(_failoverBound);
        await cluster.Cluster.KillSiloAsync(cluster.Silo(victim)).WaitAsync(deadline.Token);
        var survivor = cluster.GrainsOn(0);
        var moved = new Dictionary<string, CallRecord>();
        foreach (var key in before.Keys.Where(k => before[k].Silo == PlacementCluster.Name(victim)))
        {
            moved[key] = await CallUntilAnsweredAsync(() => survivor.GetGrain<IPlacedGrain>(key).Enter(), deadline.Token);
        }

        var failover = clock.Elapsed;
        output.WriteLine($"the killed silo's 5 grains answered again after {failover.TotalMilliseconds:F0} ms");
        Assert.All(moved.Values, m => Assert.NotEqual(PlacementCluster.Name(victim), m.Silo));
        Assert.All(moved, m => Assert.NotEqual(before[m.Key].Activation, m.Value.Activation));
        // A new activation: the old one's in-memory count is gone (these grains keep no persistent state).
        Assert.All(moved.Values, m => Assert.Equal(1, m.Count));

        foreach (var (key, record) in before.Where(b => b.Value.Silo != PlacementCluster.Name(victim)))
        {
            var again = await cluster.Client.GetGrain<IPlacedGrain>(key).Enter().WaitAsync(TestTimeouts.Wait);
            Assert.Equal((record.Silo, record.Activation, 2), (again.Silo, again.Activation, again.Count));
        }
    }

    /// <summary>Retries a call that fails because its silo is dead or not yet declared dead, as a caller of the service does; bounded.</summary>
    private static async Task<T> CallUntilAnsweredAsync<T>(Func<Task<T>> call, CancellationToken deadline)
    {
        while (true)
        {
            try
            {
                return await call().WaitAsync(deadline);
            }
            catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException
                && !deadline.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline);
            }
        }
    }
}
