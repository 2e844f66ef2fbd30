using Xunit;

namespace OrleansCodex.Cluster.Tests.Runtime;

public sealed class GrainReferenceTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Exceptions_ThrownAfterAwait_ReachCallerWithTheirType()
    {
        var error = await Assert.ThrowsAsync<TestGrainException>(() => _cluster.Grains.GetGrain<ITurnGrain>("thrower").ThrowAsync("boom"));

        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public async Task Exceptions_ThrownSynchronously_ReachCallerWithTheirTypeAndActivationSurvives()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("sync-thrower");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grain.ThrowSynchronously());
        var sum = await grain.AddAsync(2, 3);

        Assert.Equal(5, sum);
    }

    [Fact]
    public async Task ValueTaskMethods_ReturnResults()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("value-task");

        await grain.Nothing();
        var sum = await grain.AddAsync(20, 22);

        Assert.Equal(42, sum);
    }

    [Fact]
    public async Task Cancellation_TokenAlreadyCancelled_ThrowsWithoutActivating()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _cluster.Grains.GetGrain<ITurnGrain>("pre-cancelled").WaitForCancellation(cancelled.Token));

        Assert.Equal(0, _cluster.Probe.Count("waiting:pre-cancelled"));
    }

    [Fact]
    public async Task Cancellation_CallerCancels_TokenReachesGrainMethod()
    {
        using var cancellation = new CancellationTokenSource();
        var call = _cluster.Grains.GetGrain<ITurnGrain>("cancel-me").WaitForCancellation(cancellation.Token);
        await _cluster.Probe.WhenRecorded("waiting:cancel-me");

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TestTimeouts.Wait));
        Assert.Equal(1, _cluster.Probe.Count("cancelled:cancel-me"));
    }

    [Fact]
    public async Task ExecutionContext_AsyncLocals_DoNotFlowBetweenCallerAndGrain()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("async-local");
        TestAsyncLocal.Value.Value = "caller";

        var seenByGrain = await grain.ReadAsyncLocal();
        await grain.SetAsyncLocal("grain");
        var seenByCaller = TestAsyncLocal.Value.Value;
        var seenByNextTurn = await grain.ReadAsyncLocal();

        Assert.Null(seenByGrain);
        Assert.Equal("caller", seenByCaller);
        Assert.Null(seenByNextTurn);
    }

    [Fact]
    public void GetGrain_MethodWithUnsupportedReturnType_ThrowsNamingTheMethod()
    {
        var error = Assert.Throws<NotSupportedException>(() => _cluster.Grains.GetGrain<IBadGrain>("bad"));

        Assert.Contains("IBadGrain.NotAsync returns Int32", error.Message);
    }

    [Fact]
    public void GetGrain_InterfaceWithoutGrainClass_ThrowsNamingTheInterface()
    {
        var error = Assert.Throws<InvalidOperationException>(() => _cluster.Grains.GetGrain<IUnregisteredGrain>("none"));

        Assert.Contains(nameof(IUnregisteredGrain), error.Message);
        Assert.Contains("AddGrains", error.Message);
    }

    [Fact]
    public void GetGrain_SameKeyTwice_ReferencesAreEqual()
    {
        var first = _cluster.Grains.GetGrain<ICounterGrain>("same");
        var second = _cluster.Grains.GetGrain<ICounterGrain>("same");

        Assert.Equal(first, second);
        Assert.Equal("GrainReference:counter/same", first.ToString());
    }

    [Theory]
    [InlineData(typeof(CounterGrain), "counter")]
    [InlineData(typeof(ReentrantTestGrain), "reentranttest")]
    [InlineData(typeof(NamedGrain), "custom-named")]
    public void GrainTypeName_FromClassOrAttribute_IsLowerCasedWithoutSuffix(Type grainClass, string expected)
    {
        Assert.Equal(expected, OrleansCodex.Cluster.Runtime.GrainTypeRegistry.GetGrainTypeName(grainClass));
    }
}
