using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Storage;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Runtime;

public sealed class LifetimeTests : IAsyncLifetime
{
    private static readonly ClusterOptions _defaults = new();
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task State_DeactivatedAndReactivated_IsReadBack()
    {
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("durable");
        await grain.Increment();
        await grain.Increment();
        var first = await grain.GetActivationNumber();

        await grain.Deactivate();
        var value = await grain.Get();
        var second = await grain.GetActivationNumber();

        Assert.Equal(2, value);
        Assert.NotEqual(first, second);
        Assert.Equal(1, _cluster.Probe.Count($"deactivate:durable:{DeactivationReasonCode.ApplicationRequested}"));
    }

    [Fact]
    public async Task DeactivateOnIdle_CallsDuringDeactivation_RunOnNewActivationAfterIt()
    {
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("slow-exit");
        var first = await grain.GetActivationNumber();
        _cluster.Probe.Record("hold-deactivation:slow-exit");

        await grain.Deactivate();
        await _cluster.Probe.WhenRecorded($"deactivate:slow-exit:{DeactivationReasonCode.ApplicationRequested}");
        var calls = Enumerable.Range(0, 5).Select(_ => grain.GetActivationNumber()).ToArray();
        var anyAnswered = Task.WhenAny(calls);
        var answeredByDyingActivation = await Task.WhenAny(anyAnswered, Task.Delay(100)) == anyAnswered;
        _cluster.Probe.Gate("deactivation:slow-exit").Release();
        var numbers = await Task.WhenAll(calls).WaitAsync(TestTimeouts.Wait);

        Assert.False(answeredByDyingActivation);
        Assert.All(numbers, n => Assert.NotEqual(first, n));
        Assert.Single(numbers.Distinct());
        var events = _cluster.Probe.Events.ToList();
        Assert.True(events.IndexOf($"deactivated:slow-exit:{first}") < events.IndexOf($"answered:slow-exit:{numbers[0]}"));
    }

    [Fact]
    public async Task StaleWrite_StorageChangedBehindGrain_ThrowsInconsistentStateAndReplacesActivation()
    {
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("stale");
        await grain.Increment();
        var first = await grain.GetActivationNumber();
        var behind = new GrainStateRecord<CounterState>();
        await _cluster.Storage.ReadStateAsync("counter", new GrainId("counter", "stale"), behind);
        behind.State.Value = 10;
        await _cluster.Storage.WriteStateAsync("counter", new GrainId("counter", "stale"), behind);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Increment());
        var value = await grain.Increment();
        var second = await grain.GetActivationNumber();

        Assert.Equal("1", error.CurrentEtag);
        Assert.Equal("2", error.StoredEtag);
        Assert.Equal(11, value);
        Assert.NotEqual(first, second);
        Assert.Equal(1, _cluster.Probe.Count($"deactivate:stale:{DeactivationReasonCode.InconsistentState}"));
    }

    [Fact]
    public async Task IdleCollection_AfterIdleAge_DeactivatesAndNextCallReactivatesWithState()
    {
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("idle");
        await grain.Increment();
        var first = await grain.GetActivationNumber();

        _cluster.Clock.Advance(_defaults.IdleDeactivationAge + _defaults.CollectionScanPeriod);
        await _cluster.Probe.WhenRecorded($"deactivate:idle:{DeactivationReasonCode.IdleTimeout}");
        var value = await grain.Get();
        var second = await grain.GetActivationNumber();

        Assert.Equal(1, value);
        Assert.NotEqual(first, second);
        Assert.Equal(2, _cluster.Probe.Count("activate:idle"));
    }

    [Fact]
    public async Task IdleCollection_BeforeIdleAge_KeepsActivation()
    {
        await _cluster.Grains.GetGrain<ICounterGrain>("young").Increment();

        _cluster.Clock.Advance(_defaults.IdleDeactivationAge - TimeSpan.FromSeconds(1));
        var collected = _cluster.Catalog.CollectIdleActivations();

        Assert.Equal(0, collected);
        Assert.Equal(0, _cluster.Probe.Count($"deactivate:young:{DeactivationReasonCode.IdleTimeout}"));
    }

    [Fact]
    public async Task IdleCollection_CallInProgress_KeepsActivationAlive()
    {
        var turns = _cluster.Grains.GetGrain<ITurnGrain>("busy");
        var blocked = turns.Block("busy-gate");
        await _cluster.Probe.WhenRecorded("blocked:busy-gate");
        var streams = _cluster.Grains.GetGrain<IStreamGrain>("streaming");
        await using var items = streams.Produce(2).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        _cluster.Clock.Advance(_defaults.IdleDeactivationAge * 2);
        var collected = _cluster.Catalog.CollectIdleActivations();

        Assert.Equal(0, collected);
        Assert.Equal(2, _cluster.Catalog.ActivationCount);
        _cluster.Probe.Gate("busy-gate").Release();
        _cluster.Probe.Gate("next:streaming").Release();
        _cluster.Probe.Gate("next:streaming").Release();
        await blocked.WaitAsync(TestTimeouts.Wait);
    }

    [Fact]
    public async Task Shutdown_HostStops_DeactivatesEveryActivationAndRefusesNewCalls()
    {
        await _cluster.Grains.GetGrain<ICounterGrain>("shut-a").Increment();
        await _cluster.Grains.GetGrain<ICounterGrain>("shut-b").Increment();

        await _cluster.Host.StopAsync(new CancellationTokenSource(TestTimeouts.Wait).Token);

        Assert.Equal(1, _cluster.Probe.Count($"deactivate:shut-a:{DeactivationReasonCode.ShuttingDown}"));
        Assert.Equal(1, _cluster.Probe.Count($"deactivate:shut-b:{DeactivationReasonCode.ShuttingDown}"));
        Assert.Equal(0, _cluster.Catalog.ActivationCount);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => _cluster.Grains.GetGrain<ICounterGrain>("shut-a").Get());
    }
}
