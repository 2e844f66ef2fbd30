using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>
/// The clustering tests start several real nodes each and time failovers: they run one at a time, and after the project's other
/// tests rather than alongside them, so neither their load nor their timing assertions disturb the others (or the reverse).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusteringCollection
{
    public const string Name = "Clustering";
}

/// <summary>One activation per grain across a PostgreSQL cluster of three real nodes, whatever node the calls come from.</summary>
[Collection(ClusteringCollection.Name)]
public sealed class SingleActivationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = ClusterHarness.Wait;

    [Fact]
    public async Task HundredConcurrentCallsFromThreeNodes_RandomPlacement_OneActivationClusterWide_TurnsNeverOverlap_AllCounted()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        const string key = "hot-random";

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => nodes[i % 3].Grain<IRandomPlacedGrain>(key).Increment(1))).WaitAsync(_wait);

        await AssertOneActivationAsync<RandomPlacedGrain>(cluster, nodes, key, results);
    }

    /// <summary>Every node wants the grain for itself (prefer-local from all three at once): the directory must still pick one.</summary>
    [Fact]
    public async Task HundredConcurrentCallsFromThreeNodes_PreferLocalPlacement_RegistrationRaceHasOneWinner_AllCounted()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        const string key = "hot-local";

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => nodes[i % 3].Grain<IPreferLocalGrain>(key).Increment(1))).WaitAsync(_wait);

        await AssertOneActivationAsync<PreferLocalGrain>(cluster, nodes, key, results);
    }

    private async Task AssertOneActivationAsync<TGrainClass>(ClusterHarness cluster, ClusterTestNode[] nodes, string key, int[] results)
        where TGrainClass : Grain
    {
        var id = ClusterProbeIds.Of<TGrainClass>(key);
        var probe = cluster.Probe;

        // Each call saw the count the previous one left: 1..100, no duplicates, nothing lost.
        Assert.Equal(Enumerable.Range(1, 100), results.Order());
        var activation = Assert.Single(probe.Events("activate", id));
        Assert.Equal(1, probe.MaxConcurrency(id));
        Assert.Equal(100, probe.Count("call", id));
        Assert.All(probe.Events("call", id), call => Assert.Equal(activation.Node, call.Node));

        var row = Assert.Single(await cluster.ReadDirectoryAsync());
        Assert.Equal(key, row.GrainKey);
        Assert.Equal(activation.Node, row.NodeId);
        var owner = nodes.Single(n => n.NodeId == activation.Node);
        Assert.Equal(owner.Address!.Value.Incarnation, row.Incarnation);

        foreach (var node in nodes)
        {
            IClusteringTestGrain grain = typeof(TGrainClass) == typeof(PreferLocalGrain) ? node.Grain<IPreferLocalGrain>(key) : node.Grain<IRandomPlacedGrain>(key);
            var report = await grain.Report().WaitAsync(_wait);
            Assert.Equal(100, report.Count);
            Assert.Equal(activation.Node, report.Node);
            Assert.Equal(new Dictionary<string, int> { [activation.Node] = 100 }, report.CallsByNode);
        }

        // The reports added no activation anywhere.
        Assert.Single(probe.Events("activate", id));
        cluster.Log($"{id}: one activation on {activation.Node}");
    }
}
