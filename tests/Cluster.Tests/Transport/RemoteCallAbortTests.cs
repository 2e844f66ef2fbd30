using System.Diagnostics;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Tests.Runtime;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>
/// <c>RemoteGrainInvoker.AbortCallsTo</c>: once membership declares a node incarnation dead, the calls in flight to it fail at once with
/// <see cref="SiloUnavailableException"/> instead of waiting for <c>Cluster:CallTimeout</c>. Each test uses an invoker of its own, so
/// that the counts it sees are its own calls.
/// </summary>
public sealed class RemoteCallAbortTests(TwoNodeFixture nodes) : IClassFixture<TwoNodeFixture>
{
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(1);

    private TransportTestNode A => nodes.A;

    private TransportTestNode B => nodes.B;

    [Fact]
    public async Task AbortCallsTo_TaskCallsBlockedOnTarget_FailPromptlyWithSiloUnavailableAndGrainsAreCancelled()
    {
        using var invoker = TransportTestNode.CreateInvoker();
        var calls = Enumerable.Range(0, 3)
            .Select(i => invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain($"abort-task-{i}"), A.Method(nameof(IRemoteTestGrain.WaitForCancellation)),
                [CancellationToken.None], CancellationToken.None))
            .ToList();
        for (var i = 0; i < calls.Count; i++)
        {
            await B.Probe.WhenRecorded($"waiting:abort-task-{i}");
        }

        var watch = Stopwatch.StartNew();
        var aborted = invoker.AbortCallsTo(B.Address);

        Assert.Equal(3, aborted);
        foreach (var call in calls)
        {
            var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => call.WaitAsync(TestTimeouts.Wait));
            Assert.Contains("declared dead", error.Message);
            Assert.Contains("may or may not have run", error.Message);
        }

        Assert.True(watch.Elapsed < Promptly, $"took {watch.Elapsed}");
        // The dropped connection cancels the calls on the target as well.
        for (var i = 0; i < calls.Count; i++)
        {
            await B.Probe.WhenRecorded($"cancelled:abort-task-{i}");
        }
    }

    [Fact]
    public async Task AbortCallsTo_StreamWaitingForNextItem_FailsPromptlyWithSiloUnavailableAndGrainIsCancelled()
    {
        using var invoker = TransportTestNode.CreateInvoker();
        var stream = invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain("abort-stream"), A.Method(nameof(IRemoteTestGrain.Produce)),
            [10, CancellationToken.None], CancellationToken.None);
        await using var items = stream.GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        // The grain now waits for a gate nobody opens.
        var next = items.MoveNextAsync().AsTask();

        var watch = Stopwatch.StartNew();
        var aborted = invoker.AbortCallsTo(B.Address);

        Assert.Equal(1, aborted);
        var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => next.WaitAsync(TestTimeouts.Wait));
        Assert.True(watch.Elapsed < Promptly, $"took {watch.Elapsed}");
        Assert.Contains("declared dead", error.Message);
        await B.Probe.WhenRecorded("stream-cancelled:abort-stream");
    }

    [Fact]
    public async Task AbortCallsTo_StreamBeforeFirstItem_FailsPromptlyWithSiloUnavailable()
    {
        using var invoker = TransportTestNode.CreateInvoker();
        var stream = invoker.InvokeStreamAsync<int>(B.AsTarget, TransportTestNode.Grain("abort-stream-early"), A.Method(nameof(IRemoteTestGrain.ProduceSlowly)),
            [1, (int)TestTimeouts.Wait.TotalMilliseconds, CancellationToken.None], CancellationToken.None);
        await using var items = stream.GetAsyncEnumerator();
        var first = items.MoveNextAsync().AsTask();
        await B.Probe.WhenRecorded("stream-started:abort-stream-early");

        var watch = Stopwatch.StartNew();
        Assert.Equal(1, invoker.AbortCallsTo(B.Address));

        await Assert.ThrowsAsync<SiloUnavailableException>(() => first.WaitAsync(TestTimeouts.Wait));
        Assert.True(watch.Elapsed < Promptly, $"took {watch.Elapsed}");
        await B.Probe.WhenRecorded("stream-cancelled:abort-stream-early");
    }

    [Fact]
    public async Task AbortCallsTo_OneNode_CallsToOtherNodesAndIncarnationsAreNotAffected()
    {
        using var invoker = TransportTestNode.CreateInvoker();
        var toA = invoker.InvokeAsync(A.AsTarget, TransportTestNode.Grain("abort-other-a"), A.Method(nameof(IRemoteTestGrain.WaitForGate)), ["gate:abort-other-a"], CancellationToken.None);
        var toB = invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("abort-other-b"), A.Method(nameof(IRemoteTestGrain.WaitForGate)), ["gate:abort-other-b"], CancellationToken.None);
        await A.Probe.WhenRecorded("invoked:abort-other-a");
        await B.Probe.WhenRecorded("invoked:abort-other-b");

        // An older incarnation of B, and a node never called, have nothing in flight.
        Assert.Equal(0, invoker.AbortCallsTo(B.Address with { Incarnation = B.Address.Incarnation - 1 }));
        Assert.Equal(0, invoker.AbortCallsTo(new NodeAddress("node-c", 1)));
        Assert.Equal(1, invoker.AbortCallsTo(B.Address));

        await Assert.ThrowsAsync<SiloUnavailableException>(() => toB.WaitAsync(TestTimeouts.Wait));
        await Task.Delay(200);
        Assert.False(toA.IsCompleted);
        A.Probe.Gate("gate:abort-other-a").Release();
        Assert.Equal(1, await toA.WaitAsync(TestTimeouts.Wait));
        B.Probe.Gate("gate:abort-other-b").Release();
    }

    [Fact]
    public async Task AbortCallsTo_NothingInFlight_ReturnsZeroAndLaterCallsAreSent()
    {
        using var invoker = TransportTestNode.CreateInvoker();

        Assert.Equal(0, invoker.AbortCallsTo(B.Address));

        // A finished call leaves nothing behind to abort, and an abort does not refuse later calls: routing decides where calls go.
        Assert.Equal("node-b@2", await invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("abort-none"), A.Method(nameof(IRemoteTestGrain.WhereAmI)), [], CancellationToken.None)
            .WaitAsync(TestTimeouts.Wait));
        Assert.Equal(0, invoker.AbortCallsTo(B.Address));
        Assert.Equal("node-b@2", await invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("abort-none"), A.Method(nameof(IRemoteTestGrain.WhereAmI)), [], CancellationToken.None)
            .WaitAsync(TestTimeouts.Wait));
    }

    [Fact]
    public async Task AbortCallsTo_CallerCancelledFirst_CallerStillSeesCancellation()
    {
        using var invoker = TransportTestNode.CreateInvoker();
        using var cancellation = new CancellationTokenSource();
        var call = invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("abort-cancelled"), A.Method(nameof(IRemoteTestGrain.WaitForCancellation)),
            [CancellationToken.None], cancellation.Token);
        await B.Probe.WhenRecorded("waiting:abort-cancelled");

        await cancellation.CancelAsync();
        invoker.AbortCallsTo(B.Address);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TestTimeouts.Wait));
    }
}
