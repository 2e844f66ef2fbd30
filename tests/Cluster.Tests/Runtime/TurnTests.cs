using Xunit;

namespace OrleansCodex.Cluster.Tests.Runtime;

public sealed class TurnTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Turns_ConcurrentCallsWithAwaits_NeverOverlap()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("serial");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => grain.Work(5)))).WaitAsync(TestTimeouts.Wait);

        Assert.Equal(1, _cluster.Probe.MaxConcurrency("serial"));
    }

    [Fact]
    public async Task Turns_CallsToDifferentKeys_RunInParallel()
    {
        var name = Guid.NewGuid().ToString();

        // Each call only returns once the other one has arrived: serialising them across grains would time out.
        await Task.WhenAll(
            _cluster.Grains.GetGrain<ITurnGrain>("parallel-a").Rendezvous(name, 2),
            _cluster.Grains.GetGrain<ITurnGrain>("parallel-b").Rendezvous(name, 2));
    }

    [Fact]
    public async Task Turns_ReentrantGrain_InterleavesCalls()
    {
        var name = Guid.NewGuid().ToString();
        var grain = _cluster.Grains.GetGrain<IReentrantTestGrain>("reentrant");

        await Task.WhenAll(grain.Rendezvous(name, 2), grain.Rendezvous(name, 2));
    }

    [Fact]
    public async Task Turns_AlwaysInterleaveMethod_RunsWhileAnotherCallHoldsTheTurn()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("interleave");
        var blocked = grain.Block("interleave-gate");
        await _cluster.Probe.WhenRecorded("blocked:interleave-gate");

        var peeked = await grain.Peek().WaitAsync(TestTimeouts.Wait);
        _cluster.Probe.Gate("interleave-gate").Release();
        await blocked.WaitAsync(TestTimeouts.Wait);

        Assert.Equal("peeked", peeked);
    }

    [Fact]
    public async Task Turns_CallWhileTurnHeld_WaitsForTheTurn()
    {
        var grain = _cluster.Grains.GetGrain<ITurnGrain>("held");
        var blocked = grain.Block("held-gate");
        await _cluster.Probe.WhenRecorded("blocked:held-gate");

        var queued = grain.AddAsync(1, 2).AsTask();
        var finishedEarly = await Task.WhenAny(queued, Task.Delay(100)) == queued;
        _cluster.Probe.Gate("held-gate").Release();

        Assert.False(finishedEarly);
        Assert.Equal(3, await queued.WaitAsync(TestTimeouts.Wait));
        await blocked;
    }

    [Fact]
    public async Task Turns_GrainCallsAnotherGrain_Completes()
    {
        var value = await _cluster.Grains.GetGrain<ITurnGrain>("caller").CallCounter("callee");

        Assert.Equal(1, value);
        Assert.Equal(1, _cluster.Probe.Count("activate:callee"));
    }
}
