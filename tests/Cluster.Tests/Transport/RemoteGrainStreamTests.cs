using System.Diagnostics;
using System.Net;
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

    [Fact]
    public async Task Endpoint_StreamFailsBeforeFirstItemAndKeepAliveInterval_AnswersPlainErrorStatus()
    {
        using var client = new HttpClient { Timeout = TestTimeouts.Wait };

        using var response = await TransportTestNode.PostCallAsync(client, B, "early-failure", B.Method(nameof(IRemoteTestGrain.FailStreamAfter)), 0);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("stream failed after 0 ms", body);
    }

    [Fact]
    public async Task InvokeStreamAsync_TargetKeepAliveIntervalLongerThanCallTimeout_ThrowsTimeoutAndCancelsGrain()
    {
        // The target writes keep-alives every 10 s (the default); a caller waiting only 500 ms for a line sees a silent target.
        using var invoker = TransportTestNode.CreateInvoker(callTimeout: TimeSpan.FromMilliseconds(500));
        var stream = invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain("too-quiet"), A.Method(nameof(IRemoteTestGrain.ProduceSlowly)),
            [1, 5000, CancellationToken.None], CancellationToken.None);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(async () =>
        {
            await foreach (var _ in stream.WithCancellation(new CancellationTokenSource(TestTimeouts.Wait).Token))
            {
            }
        });

        watch.Stop();
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(2.5));
        Assert.Contains("Cluster:CallTimeout", error.Message);
        // On a loaded machine the timeout can fire before the call reached the grain; a grain that did start must be cancelled.
        if (B.Probe.Events.Contains("stream-started:too-quiet"))
        {
            await B.Probe.WhenRecorded("stream-cancelled:too-quiet");
        }
    }
}
