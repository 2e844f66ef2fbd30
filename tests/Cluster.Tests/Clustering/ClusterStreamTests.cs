using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>Streaming grain methods (<see cref="IAsyncEnumerable{T}"/>) called through the cluster, the grain on another node.</summary>
[Collection(ClusteringCollection.Name)]
public sealed class ClusterStreamTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = ClusterHarness.Wait;

    [Fact]
    public async Task StreamOfGrainOnNode1_EnumeratedFromNode2_YieldsAllItems_CallerCancellationStopsTheGrain()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2");
        var (node1, node2) = (nodes[0], nodes[1]);
        const string key = "ticker";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        Assert.Equal("node-1", await node1.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var grain = node2.Grain<IPreferLocalGrain>(key);

        // Every item, in order, from the activation on node 1.
        using (var timeout = new CancellationTokenSource(_wait))
        {
            var items = new List<int>();
            await foreach (var item in grain.Ticks(25, 2).WithCancellation(timeout.Token))
            {
                items.Add(item);
            }

            Assert.Equal(Enumerable.Range(0, 25), items);
        }

        var completed = Assert.Single(cluster.Probe.Events("stream-completed", id));
        Assert.Equal("node-1", completed.Node);

        // An endless stream, cancelled by the caller on node 2 after three items: the grain's enumeration on node 1 is cancelled.
        using var cancel = new CancellationTokenSource();
        using var guard = new CancellationTokenSource(_wait);
        var received = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in grain.Ticks(int.MaxValue, 20, cancel.Token).WithCancellation(guard.Token))
            {
                received.Add(item);
                if (received.Count == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.False(guard.IsCancellationRequested, "the stream did not stop within the guard timeout");
        Assert.Equal([0, 1, 2], received);
        await cluster.Probe.WhenRecorded("stream-cancelled", id, _wait);
        Assert.Equal("node-1", Assert.Single(cluster.Probe.Events("stream-cancelled", id)).Node);
        Assert.Equal(2, cluster.Probe.Count("stream-exited", id));

        // The stream's turn was given back: the next call is served (turn-based grain) by the same activation.
        Assert.Equal("node-1", await grain.WhereAmI().WaitAsync(_wait));
        Assert.Single(cluster.Probe.Events("activate", id));
    }

    [Fact]
    public async Task StreamOfGrainOnNode1_CallerOnNode2StopsEnumeratingEarly_GrainEnumerationEndsAndTurnIsReleased()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2");
        const string key = "early-exit";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        Assert.Equal("node-1", await nodes[0].Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var grain = nodes[1].Grain<IPreferLocalGrain>(key);

        using (var guard = new CancellationTokenSource(_wait))
        {
            await foreach (var item in grain.Ticks(int.MaxValue, 20).WithCancellation(guard.Token))
            {
                if (item == 2)
                {
                    break;
                }
            }
        }

        // Breaking out disposes the enumerator: the connection closes and node 1 stops the grain's enumeration.
        await cluster.Probe.WhenRecorded("stream-exited", id, _wait);
        Assert.Equal(0, cluster.Probe.Count("stream-completed", id));
        Assert.Equal(1, await grain.Increment(0).WaitAsync(_wait));
    }
}
