namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>
/// A streamed grain method (<see cref="IAsyncEnumerable{T}"/>, as a turn's events are watched) consumed on another silo or by a
/// client: the consumer's cancellation reaches the producing grain and stops it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StreamCancellationTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan _interval = TimeSpan.FromMilliseconds(50);

    private readonly PlacementCluster _cluster = fixture.Cluster;

    [Theory]
    [InlineData("another silo")]
    [InlineData("a client")]
    public async Task Stream_ConsumerCancels_ProducerOnAnotherSiloStops(string consumer)
    {
        var key = $"stream-{Guid.NewGuid():N}";
        var producerSilo = (await _cluster.GrainsOn(0).GetGrain<IPlacedGrain>(key).WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo;
        Assert.Equal(PlacementCluster.Name(0), producerSilo);
        var grains = consumer == "a client" ? (IGrainFactory)_cluster.Client : _cluster.GrainsOn(1);
        var grain = grains.GetGrain<IPlacedGrain>(key);
        using var cancellation = new CancellationTokenSource();
        var received = new List<int>();

        var consuming = Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in grain.Produce(_interval, cancellation.Token).WithCancellation(cancellation.Token))
            {
                received.Add(item);
                if (received.Count == 5)
                {
                    await cancellation.CancelAsync();
                }
            }
        });
        await consuming.WaitAsync(TestTimeouts.Wait);

        ProducerReport report = null!;
        await TestTimeouts.EventuallyAsync(
            async () => (report = await grain.GetProducerReport().WaitAsync(TestTimeouts.Wait)).Finished,
            TimeSpan.FromSeconds(10),
            "the producing grain ends its stream");
        await Task.Delay(_interval * 6);
        var later = await grain.GetProducerReport().WaitAsync(TestTimeouts.Wait);

        // In order, none lost; items batched with the fifth are still handed out (Orleans checks the token between batches).
        Assert.True(received.Count >= 5, $"received {received.Count} items");
        Assert.Equal(Enumerable.Range(0, received.Count), received);
        Assert.True(report.SawCancellation, "the producer's cancellation token was cancelled");
        Assert.Equal(report.Produced, later.Produced);
    }

    [Fact]
    public async Task Stream_ConsumerCancelsWhileProducerIsSilent_ProducerStopsWaitingAtOnce()
    {
        // A long silent CLI turn whose HTTP client went away: the grain must not keep waiting for the next event.
        var silence = TimeSpan.FromSeconds(20);
        var key = $"silent-{Guid.NewGuid():N}";
        Assert.Equal(PlacementCluster.Name(0), (await _cluster.GrainsOn(0).GetGrain<IPlacedGrain>(key).WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo);
        var grain = _cluster.GrainsOn(2).GetGrain<IPlacedGrain>(key);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in grain.Produce(silence, cancellation.Token).WithCancellation(cancellation.Token))
            {
                Assert.Fail($"nothing is produced within {silence}, yet {item} arrived");
            }
        }).WaitAsync(TestTimeouts.Wait);

        ProducerReport report = null!;
        await TestTimeouts.EventuallyAsync(
            async () => (report = await grain.GetProducerReport().WaitAsync(TestTimeouts.Wait)).Finished,
            TimeSpan.FromSeconds(5),
            "the silent producer ends its stream long before its next item was due");
        Assert.True(report.SawCancellation, "the producer's wait was cancelled");
        Assert.Equal(0, report.Produced);
    }
}
