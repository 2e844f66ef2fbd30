using OrleansCodex.Cluster.Tests.Runtime;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>Streamed (<c>IAsyncEnumerable</c>) calls from node A to grains on node B over NDJSON.</summary>
public sealed class RemoteGrainStreamTests(TwoNodeFixture nodes) : IClassFixture<TwoNodeFixture>
{
    private TransportTestNode A => nodes.A;

    private TransportTestNode B => nodes.B;

    private IAsyncEnumerable<int> ProduceOnB(string key, int count, CancellationToken cancellationToken = default) =>
        A.Invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain(key), A.Method(nameof(IRemoteTestGrain.Produce)), [count, CancellationToken.None], cancellationToken);

    [Fact]
    public async Task InvokeStreamAsync_Items_ArriveBeforeTheGrainFinishes()
    {
        var received = new List<int>();

        await using (var items = ProduceOnB("incremental", 3).GetAsyncEnumerator())
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
                received.Add(items.Current);
                // The grain waits for the test before producing more, so this item crossed the network on its own.
                Assert.Equal(0, B.Probe.Count("stream-ended:incremental"));
                B.Probe.Gate("next:incremental").Release();
            }

            Assert.False(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        }

        Assert.Equal([0, 1, 2], received);
        await B.Probe.WhenRecorded("stream-ended:incremental");
    }

    [Fact]
    public async Task InvokeStreamAsync_CallerCancelsMidStream_CancelsGrainEnumerationAndFreesActivation()
    {
        using var cancellation = new CancellationTokenSource();
        var items = ProduceOnB("cancelled", 10, cancellation.Token).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        await items.DisposeAsync();
        await B.Probe.WhenRecorded("stream-cancelled:cancelled");
        var next = await A.Invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("cancelled"), A.Method(nameof(IRemoteTestGrain.WhereAmI)), [], CancellationToken.None)
            .WaitAsync(TestTimeouts.Wait);
        Assert.Equal("node-b@2", next);
    }

    [Fact]
    public async Task InvokeStreamAsync_CallerStopsEarly_CancelsGrainEnumeration()
    {
        await foreach (var item in ProduceOnB("abandoned", 10))
        {
            Assert.Equal(0, item);
            break;
        }

        await B.Probe.WhenRecorded("stream-cancelled:abandoned");
    }

    [Fact]
    public async Task InvokeStreamAsync_GrainThrowsMidStream_CallerGetsItemsThenSameExceptionType()
    {
        var received = new List<int>();
        var stream = A.Invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain("failing"), A.Method(nameof(IRemoteTestGrain.ProduceThenThrow)), [], CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var item in stream.WithCancellation(new CancellationTokenSource(TestTimeouts.Wait).Token))
            {
                received.Add(item);
            }
        });

        Assert.Equal([1], received);
        Assert.Equal("stream failed", error.Message);
    }
}
