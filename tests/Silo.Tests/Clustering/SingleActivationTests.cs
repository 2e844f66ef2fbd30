using OrleansCodex.Grains.Placement;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>One activation per grain across the cluster, whatever silo or client the calls come from, and its turns one at a time.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SingleActivationTests(SharedClusterFixture fixture)
{
    private readonly PlacementCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task HundredConcurrentCalls_FromGrainsOnEverySiloAndAClient_OneActivationAndTurnsNeverOverlap()
    {
        var key = $"hot-{Guid.NewGuid():N}";
        // A relay grain on each silo (prefer-local, first called there): its calls start on that silo, where
        // ConversationPlacement wants the new grain for itself, so all three race to activate it.
        var relays = new IRelayGrain[3];
        for (var i = 0; i < 3; i++)
        {
            relays[i] = _cluster.GrainsOn(i).GetGrain<IRelayGrain>($"relay-{i}-{key}");
            Assert.Equal(PlacementCluster.Name(i), await relays[i].WhereAmI().WaitAsync(TestTimeouts.Wait));
        }

        var fromSilos = relays.Select(relay => relay.EnterMany(key, 25));
        var fromClient = Enumerable.Range(0, 25).Select(_ => _cluster.Client.GetGrain<IPlacedGrain>(key).Enter());
        var results = (await Task.WhenAll(fromSilos.Append(Task.WhenAll(fromClient))).WaitAsync(TestTimeouts.Wait)).SelectMany(r => r).ToList();

        var activation = Assert.Single(results.Select(r => (r.Activation, r.Silo)).Distinct());
        // Each call saw the count the previous one left: nothing lost, nothing counted twice, no overlap.
        Assert.Equal(Enumerable.Range(1, 100), results.Select(r => r.Count).Order());
        Assert.All(results, r => Assert.Equal(1, r.MaxConcurrent));
        for (var i = 0; i < 3; i++)
        {
            var seen = await _cluster.GrainsOn(i).GetGrain<IPlacedGrain>(key).WhereAmI().WaitAsync(TestTimeouts.Wait);
            Assert.Equal((activation.Activation, activation.Silo, 100), (seen.Activation, seen.Silo, seen.Count));
        }
    }
}
