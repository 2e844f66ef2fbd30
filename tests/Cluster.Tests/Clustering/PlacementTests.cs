using OrleansCodex.Cluster.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>Where new activations go in a cluster of real nodes: prefer-local, random, node-local, and metadata placement filters.</summary>
[Collection(ClusteringCollection.Name)]
public sealed class PlacementTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = ClusterHarness.Wait;

    [Fact]
    public async Task PreferLocal_Random_And_LocalPlacement_PlaceActivationsWhereTheirAttributeSays()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var names = nodes.Select(n => n.NodeId).ToArray();

        // [PreferLocalPlacement], first called from node 2: activated on node 2, and stays there for callers on other nodes.
        Assert.Equal("node-2", await nodes[1].Grain<IPreferLocalGrain>("near").WhereAmI().WaitAsync(_wait));
        Assert.Equal("node-2", await nodes[0].Grain<IPreferLocalGrain>("near").WhereAmI().WaitAsync(_wait));
        Assert.Equal("node-2", await nodes[2].Grain<IPreferLocalGrain>("near").WhereAmI().WaitAsync(_wait));
        var nearRow = Assert.Single(await cluster.ReadDirectoryAsync(), r => r.GrainType == GrainTypeRegistry.GetGrainTypeName(typeof(PreferLocalGrain)));
        Assert.Equal(("node-2", nodes[1].Address!.Value.Incarnation), (nearRow.NodeId, nearRow.Incarnation));

        // No attribute: some active node, the one the directory names; over a dozen grains, more than one node.
        var randomType = GrainTypeRegistry.GetGrainTypeName(typeof(RandomPlacedGrain));
        var placed = new Dictionary<string, string>();
        for (var i = 0; i < 12; i++)
        {
            placed[$"random-{i}"] = await nodes[0].Grain<IRandomPlacedGrain>($"random-{i}").WhereAmI().WaitAsync(_wait);
        }

        var randomRows = (await cluster.ReadDirectoryAsync()).Where(r => r.GrainType == randomType).ToDictionary(r => r.GrainKey, r => r.NodeId);
        Assert.Equal(placed.OrderBy(p => p.Key), randomRows.OrderBy(p => p.Key));
        Assert.All(placed.Values, node => Assert.Contains(node, names));
        Assert.True(placed.Values.Distinct().Count() >= 2, $"12 randomly placed grains all went to {placed.Values.First()}");
        cluster.Log($"random placement: {string.Join(", ", placed.GroupBy(p => p.Value).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"))}");

        // [LocalPlacement]: the same key called from each node runs on that node: three activations, none in the directory.
        foreach (var node in nodes)
        {
            Assert.Equal(node.NodeId, await node.Grain<INodeLocalGrain>("here").WhereAmI().WaitAsync(_wait));
        }

        foreach (var node in nodes)
        {
            Assert.Equal(node.NodeId, await node.Grain<INodeLocalGrain>("here").WhereAmI().WaitAsync(_wait));
        }

        var localActivations = cluster.Probe.Events("activate", ClusterProbeIds.Of<NodeLocalGrain>("here"));
        Assert.Equal(names, localActivations.Select(a => a.Node).Order());
        Assert.DoesNotContain(await cluster.ReadDirectoryAsync(), r => r.GrainType == GrainTypeRegistry.GetGrainTypeName(typeof(NodeLocalGrain)));
    }

    [Fact]
    public async Task MetadataPlacementFilter_OnlyNodesDeclaringTheRequestedProvider_NoneEligibleIsNoEligibleNode()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync(("codex-only", "codex"), ("claude-only", "claude"), ("both", "codex,claude"));
        var (codexOnly, claudeOnly, both) = (nodes[0], nodes[1], nodes[2]);
        var providerType = GrainTypeRegistry.GetGrainTypeName(typeof(ProviderFilteredGrain));

        try
        {
            // Claude wanted, called from the codex-only node: never placed there (nor, prefer-local as it is, kept there).
            RequestContext.Set("provider", "claude");
            var claudePlaced = new List<string>();
            for (var i = 0; i < 8; i++)
            {
                claudePlaced.Add(await codexOnly.Grain<IProviderFilteredGrain>($"claude-{i}").WhereAmI().WaitAsync(_wait));
            }

            Assert.All(claudePlaced, node => Assert.Contains(node, new[] { "claude-only", "both" }));
            cluster.Log($"claude grains called from codex-only went to: {string.Join(", ", claudePlaced)}");

            // An eligible calling node keeps its prefer-local grain.
            Assert.Equal("both", await both.Grain<IProviderFilteredGrain>("claude-at-both").WhereAmI().WaitAsync(_wait));

            // Codex wanted from the claude-only node: codex-only or both.
            RequestContext.Set("provider", "codex");
            Assert.Contains(await claudeOnly.Grain<IProviderFilteredGrain>("codex-0").WhereAmI().WaitAsync(_wait), new[] { "codex-only", "both" });

            // Nobody declares it: NoEligibleNodeException (since 982293b; it was a not-delivered SiloUnavailableException), and nothing
            // is activated or registered anywhere.
            RequestContext.Set("provider", "gemini");
            var error = await Assert.ThrowsAsync<NoEligibleNodeException>(() => codexOnly.Grain<IProviderFilteredGrain>("gemini-0").WhereAmI().WaitAsync(_wait));
            Assert.Contains("providers containing 'gemini'", error.Message);
            Assert.Equal(0, cluster.Probe.Count("activate", ClusterProbeIds.Of<ProviderFilteredGrain>("gemini-0")));
            Assert.DoesNotContain(await cluster.ReadDirectoryAsync(), r => r.GrainType == providerType && r.GrainKey == "gemini-0");
        }
        finally
        {
            RequestContext.Clear();
        }

        // Without a value in the request context the filter lets every node pass: prefer-local keeps it on the caller.
        Assert.Equal("codex-only", await codexOnly.Grain<IProviderFilteredGrain>("unfiltered").WhereAmI().WaitAsync(_wait));

        // Every placed grain is in the directory on the node that runs it.
        var rows = (await cluster.ReadDirectoryAsync()).Where(r => r.GrainType == providerType).ToList();
        Assert.Equal(11, rows.Count);
        Assert.All(rows.Where(r => r.GrainKey.StartsWith("claude", StringComparison.Ordinal)), r => Assert.NotEqual("codex-only", r.NodeId));
    }

    /// <summary>
    /// A node learns of a peer that joined after it only at its next membership read (up to <c>Cluster:HeartbeatPeriod</c> later).
    /// Placement in that window only knows the nodes of its last read; when none of them is eligible the router should refresh
    /// membership and place again (nothing ran, so it is safe), instead of failing the call at once.
    /// </summary>
    [Fact]
    public async Task MetadataPlacementFilter_EligiblePeerJoinedAMomentAgo_CallSucceeds()
    {
        // A long heartbeat period makes the stale window cover the whole test; with the default 1 s it is a race.
        await using var cluster = await ClusterHarness.CreateAsync(output, new ClusterTimings(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)));
        var codexOnly = await cluster.StartSiloAsync("codex-only", providers: "codex");
        await cluster.StartSiloAsync("claude-only", providers: "claude");
        RequestContext.Set("provider", "claude");
        try
        {
            Assert.Equal("claude-only", await codexOnly.Grain<IProviderFilteredGrain>("claude-new").WhereAmI().WaitAsync(_wait));
        }
        finally
        {
            RequestContext.Clear();
        }
    }
}
