using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>
/// A new conversation stays on the silo its first call arrived at unless that silo's CLI slots are all busy (load 1); then it goes
/// to the least loaded silo, as each silo last polled the others' <c>INodeLoadService</c> (<c>Cluster:LoadRefreshPeriod</c>).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LoadPlacementTests(SharedClusterFixture fixture)
{
    private const int Receiving = SharedClusterFixture.Both;
    private const int Busy = SharedClusterFixture.ClaudeOnly;
    private const int Idle = SharedClusterFixture.CodexOnly;

    private readonly PlacementCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task NewGrain_ReceivingSiloNotSaturated_StaysThere()
    {
        await using (await _cluster.SaturateAsync(Busy, CliProvider.Codex))
        {
            var placed = await PlaceFromAsync(Receiving, count: 6);

            Assert.All(placed, silo => Assert.Equal(PlacementCluster.Name(Receiving), silo));
        }
    }

    [Fact]
    public async Task NewGrain_ReceivingSiloSaturated_GoesToAnotherSilo()
    {
        await using (await _cluster.SaturateAsync(Receiving, CliProvider.Claude))
        {
            var placed = await PlaceFromAsync(Receiving, count: 6);

            Assert.All(placed, silo => Assert.NotEqual(PlacementCluster.Name(Receiving), silo));
        }
    }

    [Fact]
    public async Task NewGrain_ReceivingAndAnotherSiloSaturated_GoesToTheIdleOneOnceLoadsAreRefreshed()
    {
        await using (await _cluster.SaturateAsync(Receiving, CliProvider.Codex))
        await using (await _cluster.SaturateAsync(Busy, CliProvider.Codex))
        {
            var busy = _cluster.Silo(Busy).SiloAddress;
            await TestTimeouts.EventuallyAsync(
                () => _cluster.LoadsSeenBy(Receiving).Of(busy) >= 1,
                TestTimeouts.Wait,
                $"{PlacementCluster.Name(Receiving)} sees {PlacementCluster.Name(Busy)} saturated");

            var placed = await PlaceFromAsync(Receiving, count: 8);

            // Random between the two others if the busy silo's load were unknown; the least loaded one every time with it.
            Assert.All(placed, silo => Assert.Equal(PlacementCluster.Name(Idle), silo));
        }
    }

    [Fact]
    public async Task NewGrain_ReceivingSiloNoLongerSaturated_StaysThereAgain()
    {
        await using (await _cluster.SaturateAsync(Receiving, CliProvider.Codex))
        {
            Assert.DoesNotContain(PlacementCluster.Name(Receiving), await PlaceFromAsync(Receiving, count: 2));
        }

        // The local load is read exactly, not polled: released slots count at once.
        var placed = await PlaceFromAsync(Receiving, count: 4);

        Assert.All(placed, silo => Assert.Equal(PlacementCluster.Name(Receiving), silo));
    }

    /// <summary>Activates new grains with calls that arrive at silo <paramref name="index"/>; returns where each went.</summary>
    private async Task<List<string>> PlaceFromAsync(int index, int count)
    {
        var placed = new List<string>();
        for (var i = 0; i < count; i++)
        {
            placed.Add((await _cluster.GrainsOn(index).GetGrain<IPlacedGrain>($"load-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo);
        }

        return placed;
    }
}
