using System.Diagnostics;
using System.Net;
using System.Text;
using OrleansCodex.Cluster.Tests.Runtime;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>Two nodes whose calls time out after 1.5 s and whose streams write a keep-alive after 300 ms of silence.</summary>
public sealed class KeepAliveNodesFixture : TwoNodeFixture
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1.5);

    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromMilliseconds(300);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Cluster:CallTimeout"] = CallTimeout.ToString(),
        ["Cluster:StreamKeepAliveInterval"] = KeepAliveInterval.ToString(),
    };
}

/// <summary>
/// Keep-alives of streamed calls: a grain may be quiet for longer than <c>Cluster:CallTimeout</c> (before its first item, between items,
/// or while queued behind another turn) without the call timing out; a target that goes silent still times out.
/// </summary>
public sealed class RemoteGrainStreamKeepAliveTests(KeepAliveNodesFixture nodes) : IClassFixture<KeepAliveNodesFixture>
{
    private static readonly TimeSpan QuietLongerThanCallTimeout = KeepAliveNodesFixture.CallTimeout + TimeSpan.FromSeconds(0.7);

    private TransportTestNode A => nodes.A;

    private TransportTestNode B => nodes.B;

    private IAsyncEnumerable<int> ProduceSlowlyOnB(string key, int count, TimeSpan delay, CancellationToken cancellationToken = default) =>
        A.Invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain(key), A.Method(nameof(IRemoteTestGrain.ProduceSlowly)),
            [count, (int)delay.TotalMilliseconds, CancellationToken.None], cancellationToken);

    [Fact]
    public async Task InvokeStreamAsync_GrainQuietLongerThanCallTimeoutBeforeAndBetweenItems_CompletesWithAllItems()
    {
        var received = new List<int>();
        var watch = Stopwatch.StartNew();

        await foreach (var item in ProduceSlowlyOnB("quiet", 2, QuietLongerThanCallTimeout).WithCancellation(new CancellationTokenSource(TestTimeouts.Wait).Token))
        {
            received.Add(item);
        }

        Assert.Equal([0, 1], received);
        Assert.True(watch.Elapsed >= 2 * KeepAliveNodesFixture.CallTimeout, $"took {watch.Elapsed}");
        await B.Probe.WhenRecorded("stream-ended:quiet");
    }

    [Fact]
    public async Task InvokeStreamAsync_QueuedBehindAnotherTurnLongerThanCallTimeout_StartsAndCompletes()
    {
        // The grain is busy with a call that holds its turn (through an invoker with a long timeout); the stream queues behind it.
        using var patient = TransportTestNode.CreateInvoker(callTimeout: TestTimeouts.Wait);
        var blocker = patient.InvokeAsync(B.AsTarget, TransportTestNode.Grain("queued"), A.Method(nameof(IRemoteTestGrain.WaitForGate)), ["gate:queued"], CancellationToken.None);
        await B.Probe.WhenRecorded("invoked:queued");
        await using var items = ProduceSlowlyOnB("queued", 1, TimeSpan.Zero).GetAsyncEnumerator();

        var first = items.MoveNextAsync().AsTask();
        await Task.Delay(QuietLongerThanCallTimeout);
        Assert.False(first.IsCompleted);
        Assert.Equal(0, B.Probe.Count("stream-started:queued"));
        B.Probe.Gate("gate:queued").Release();

        Assert.True(await first.WaitAsync(TestTimeouts.Wait));
        Assert.Equal(0, items.Current);
        Assert.False(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        Assert.Equal(1, await blocker.WaitAsync(TestTimeouts.Wait));
    }

    [Fact]
    public async Task InvokeStreamAsync_GrainFailsAfterKeepAlivesBeforeFirstItem_CallerGetsSameExceptionInBand()
    {
        var stream = A.Invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain("late-failure"), A.Method(nameof(IRemoteTestGrain.FailStreamAfter)),
            [(int)QuietLongerThanCallTimeout.TotalMilliseconds], CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in stream.WithCancellation(new CancellationTokenSource(TestTimeouts.Wait).Token))
            {
            }
        });

        Assert.Equal($"stream failed after {(int)QuietLongerThanCallTimeout.TotalMilliseconds} ms", error.Message);
    }

    [Fact]
    public async Task Endpoint_NoItemWithinKeepAliveInterval_CommitsNdjsonAndWritesKeepAliveLines()
    {
        using var client = new HttpClient { Timeout = TestTimeouts.Wait };

        using var response = await TransportTestNode.PostCallAsync(client, B, "wire-keepalive", B.Method(nameof(IRemoteTestGrain.ProduceSlowly)), 1, 1000);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        // One keep-alive per 300 ms of the grain's 1 s of silence (at least two, whatever the scheduling), then the item and the end.
        Assert.True(lines.Length >= 4, string.Join(" | ", lines));
        Assert.All(lines[..^2], line => Assert.Equal("""{"keepAlive":true}""", line));
        Assert.Equal("""{"item":0}""", lines[^2]);
        Assert.Equal("""{"end":true}""", lines[^1]);
    }

    [Fact]
    public async Task Endpoint_StreamFailsAfterKeepAliveInterval_ReportsErrorInBand()
    {
        using var client = new HttpClient { Timeout = TestTimeouts.Wait };

        using var response = await TransportTestNode.PostCallAsync(client, B, "wire-late-failure", B.Method(nameof(IRemoteTestGrain.FailStreamAfter)), 700);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"keepAlive":true}""", lines[0]);
        Assert.StartsWith("""{"error":{""", lines[^1]);
        Assert.Contains("\"System.InvalidOperationException\"", lines[^1]);
        Assert.Contains("stream failed after 700 ms", lines[^1]);
    }

    [Fact]
    public async Task InvokeStreamAsync_TargetSilentAfterFirstItem_ThrowsTimeoutAfterCallTimeout()
    {
        await using var silent = await SilentNode.StartStreamingThenSilentAsync("""{"item":7}""");
        var stream = A.Invoker.InvokeStreamAsync<int>(silent.AsTarget, TransportTestNode.Grain("hung"), A.Method(nameof(IRemoteTestGrain.Produce)),
            [3, CancellationToken.None], CancellationToken.None);
        await using var items = stream.GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        Assert.Equal(7, items.Current);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        watch.Stop();
        Assert.InRange(watch.Elapsed, KeepAliveNodesFixture.CallTimeout - TimeSpan.FromMilliseconds(100), KeepAliveNodesFixture.CallTimeout + TimeSpan.FromSeconds(2));
        Assert.Contains("Cluster:CallTimeout", error.Message);
    }

    [Fact]
    public async Task InvokeStreamAsync_TargetNeverAnswers_ThrowsTimeoutAfterCallTimeout()
    {
        await using var silent = await SilentNode.StartNeverAnsweringAsync();
        var stream = A.Invoker.InvokeStreamAsync<int>(silent.AsTarget, TransportTestNode.Grain("mute"), A.Method(nameof(IRemoteTestGrain.Produce)),
            [3, CancellationToken.None], CancellationToken.None);
        await using var items = stream.GetAsyncEnumerator();
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAsync<TimeoutException>(() => items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        watch.Stop();
        Assert.InRange(watch.Elapsed, KeepAliveNodesFixture.CallTimeout - TimeSpan.FromMilliseconds(100), KeepAliveNodesFixture.CallTimeout + TimeSpan.FromSeconds(2));
    }
}
