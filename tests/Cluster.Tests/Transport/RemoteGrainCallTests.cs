using System.Diagnostics;
using System.Net;
using System.Text;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Cluster.Transport;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>Calls from node A's invoker to grains on node B, both real Kestrel hosts.</summary>
public sealed class RemoteGrainCallTests(TwoNodeFixture nodes) : IClassFixture<TwoNodeFixture>
{
    private TransportTestNode A => nodes.A;

    private TransportTestNode B => nodes.B;

    private Task<object?> CallB(string key, string method, params object?[] args) =>
        A.Invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain(key), A.Method(method), args, CancellationToken.None).WaitAsync(TestTimeouts.Wait);

    [Fact]
    public async Task InvokeAsync_TaskOfT_ReturnsValueComputedOnTargetNode()
    {
        var answer = await CallB("where", nameof(IRemoteTestGrain.WhereAmI));

        Assert.Equal("node-b@2", answer);
    }

    [Fact]
    public async Task InvokeAsync_Task_RunsOnTargetNodeAndCompletes()
    {
        var answer = await CallB("touch", nameof(IRemoteTestGrain.Touch));

        Assert.Null(answer);
        Assert.Equal(1, B.Probe.Count("touched:touch"));
        Assert.Equal(0, A.Probe.Count("touched:touch"));
    }

    [Fact]
    public async Task InvokeAsync_NestedRecordsListsNullsDictionaries_RoundTrip()
    {
        var customer = new Customer("Ada", 36, new Address("1 Loop Rd", null), [new Address("2 Old St", "Leeds"), new Address("3 Null Ave", null)],
            new Dictionary<string, int> { ["chess"] = 3, ["go"] = 9 }, "vip");

        var echoed = (Customer)(await CallB("echo", nameof(IRemoteTestGrain.Echo), customer, new List<int?> { 1, null, 3 }))!;

        Assert.Equal(customer.Name, echoed.Name);
        Assert.Equal(customer.Age, echoed.Age);
        Assert.Equal(customer.Home, echoed.Home);
        Assert.Equal(customer.Previous, echoed.Previous);
        Assert.Equal(customer.Scores, echoed.Scores);
        Assert.Equal("vip|1,null,3", echoed.Note);

        var withNulls = (Customer)(await CallB("echo", nameof(IRemoteTestGrain.Echo), customer with { Home = null, Note = null, Previous = [] }, new List<int?>()))!;
        Assert.Null(withNulls.Home);
        Assert.Empty(withNulls.Previous);
        Assert.Equal("|", withNulls.Note);
    }

    [Theory]
    [InlineData("argument", typeof(ArgumentException), "bad argument (Parameter 'customer')")]
    [InlineData("invalid", typeof(InvalidOperationException), "not now")]
    public async Task InvokeAsync_GrainThrowsRuntimeException_CallerGetsSameTypeAndMessage(string kind, Type expected, string message)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => CallB($"fail-{kind}", nameof(IRemoteTestGrain.Fail), kind));

        Assert.Equal(expected, error.GetType());
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task InvokeAsync_GrainThrowsInconsistentState_CallerGetsBothEtags()
    {
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => CallB("fail-inconsistent", nameof(IRemoteTestGrain.Fail), "inconsistent"));

        Assert.Equal("stale write", error.Message);
        Assert.Equal("7", error.StoredEtag);
        Assert.Equal("6", error.CurrentEtag);
    }

    [Fact]
    public async Task InvokeAsync_GrainThrowsUnknownType_CallerGetsRemoteGrainException()
    {
        var error = await Assert.ThrowsAsync<RemoteGrainException>(() => CallB("fail-custom", nameof(IRemoteTestGrain.Fail), "custom"));

        Assert.Equal(typeof(RemoteTestException).FullName, error.RemoteType);
        Assert.Equal("custom failure", error.Message);
    }

    [Fact]
    public async Task InvokeAsync_GrainThrowsRegisteredType_CallerGetsSameType()
    {
        var serialization = new GrainCallSerializationOptions();
        serialization.ExceptionTypes.Add(typeof(RemoteTestException));
        using var invoker = TransportTestNode.CreateInvoker(serialization: serialization);

        var error = await Assert.ThrowsAsync<RemoteTestException>(() =>
            invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("fail-registered"), A.Method(nameof(IRemoteTestGrain.Fail)), ["custom"], CancellationToken.None)
                .WaitAsync(TestTimeouts.Wait));

        Assert.Equal("custom failure", error.Message);
    }

    [Fact]
    public async Task InvokeAsync_CallerCancels_CancelsGrainCallOnTargetNode()
    {
        using var cancellation = new CancellationTokenSource();
        var call = A.Invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("cancel-call"), A.Method(nameof(IRemoteTestGrain.WaitForCancellation)),
            [CancellationToken.None], cancellation.Token);
        await B.Probe.WhenRecorded("waiting:cancel-call");

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TestTimeouts.Wait));
        await B.Probe.WhenRecorded("cancelled:cancel-call");
        Assert.Equal("node-b@2", await CallB("cancel-call", nameof(IRemoteTestGrain.WhereAmI)));
    }

    [Fact]
    public async Task InvokeAsync_TwentyConcurrentCallsToOneGrain_RunOneAtATime()
    {
        var calls = Enumerable.Range(0, 20).Select(_ => CallB("turns", nameof(IRemoteTestGrain.Work), 20)).ToList();

        await Task.WhenAll(calls).WaitAsync(TestTimeouts.Wait);

        Assert.Equal(1, B.Probe.MaxConcurrency("turns"));
    }

    [Fact]
    public async Task InvokeAsync_StaleTargetIncarnation_ThrowsStaleTargetAndGrainNeverRuns()
    {
        var stale = new RemoteNode(B.Address with { Incarnation = 1 }, B.Endpoint);

        var error = await Assert.ThrowsAsync<StaleTargetException>(() =>
            A.Invoker.InvokeAsync(stale, TransportTestNode.Grain("stale"), A.Method(nameof(IRemoteTestGrain.Touch)), [], CancellationToken.None)
                .WaitAsync(TestTimeouts.Wait));

        Assert.Equal(new NodeAddress("node-b", 1), error.Target);
        Assert.Equal(B.Address, error.Actual);
        Assert.Equal(0, B.Probe.Count("touched:stale"));
    }

    [Fact]
    public async Task InvokeAsync_WrongSecret_RefusedAndGrainNeverRuns()
    {
        using var invoker = TransportTestNode.CreateInvoker(secret: "not-the-cluster-secret-at-all");

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() =>
            invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("intruder"), A.Method(nameof(IRemoteTestGrain.Touch)), [], CancellationToken.None)
                .WaitAsync(TestTimeouts.Wait));

        Assert.Equal(0, B.Probe.Count("touched:intruder"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("transport-tests-secret-012345678")]
    [InlineData("transport-tests-secret-0123456789x")]
    public async Task Endpoint_MissingOrWrongSecret_Returns401BeforeReadingTheCall(string? secret)
    {
        using var client = new HttpClient { Timeout = TestTimeouts.Wait };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(B.Endpoint, "/_cluster/v1/calls"))
        {
            Content = new StringContent(
                $$"""{"grainType":"remotetest","grainKey":"raw-intruder","interface":"{{typeof(IRemoteTestGrain).FullName}}","method":"Touch()","arguments":[]}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Cluster-Target-Node", "node-b");
        request.Headers.Add("X-Cluster-Target-Incarnation", "2");
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Cluster-Secret", secret);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, B.Probe.Count("touched:raw-intruder"));
    }

    [Fact]
    public async Task InvokeAsync_NoAnswerWithinCallTimeout_ThrowsTimeoutAndIsNotResubmitted()
    {
        using var invoker = TransportTestNode.CreateInvoker(callTimeout: TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            invoker.InvokeAsync(B.AsTarget, TransportTestNode.Grain("slow"), A.Method(nameof(IRemoteTestGrain.WaitForGate)), ["gate:slow"], CancellationToken.None)
                .WaitAsync(TestTimeouts.Wait));

        watch.Stop();
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(2.5));
        Assert.Contains("Cluster:CallTimeout", error.Message);
        // Give a resubmission the chance to arrive before counting (bounded), then let the grain finish.
        await Task.Delay(300);
        Assert.Equal(1, B.Probe.Count("invoked:slow"));
        B.Probe.Gate("gate:slow").Release();
    }

    [Fact]
    public async Task InvokeAsync_NothingListening_ThrowsSiloUnavailableQuickly()
    {
        var nowhere = new RemoteNode(new NodeAddress("node-gone", 9), TransportTestNode.UnusedEndpoint());
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAsync<SiloUnavailableException>(() =>
            A.Invoker.InvokeAsync(nowhere, TransportTestNode.Grain("nowhere"), A.Method(nameof(IRemoteTestGrain.Touch)), [], CancellationToken.None)
                .WaitAsync(TestTimeouts.Wait));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task InvokeAsync_UnknownMethodOnTarget_ThrowsInvalidOperation()
    {
        // A method the target's grain class does not have (as after a version skew): the target names what it lacks.
        var method = A.Method(nameof(IRemoteTestGrain.Touch));
        var otherGrain = new GrainId("custom-named", "skew");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            A.Invoker.InvokeAsync(B.AsTarget, otherGrain, method, [], CancellationToken.None).WaitAsync(TestTimeouts.Wait));

        Assert.Contains(typeof(IRemoteTestGrain).FullName!, error.Message);
    }
}
