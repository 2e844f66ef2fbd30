using Xunit;

namespace OrleansCodex.Cluster.Tests.Runtime;

public sealed class ActivationTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Activation_FirstCall_ActivatesOnceAndRunsOnActivateOnce()
    {
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("first-call");
        Assert.Equal(0, _cluster.Probe.Count("activate:first-call"));

        await grain.Increment();
        await grain.Increment();
        var again = await _cluster.Grains.GetGrain<ICounterGrain>("first-call").Get();

        Assert.Equal(2, again);
        Assert.Equal(1, _cluster.Probe.Count("activate:first-call"));
    }

    [Fact]
    public async Task Activation_FiftyConcurrentFirstCalls_CreateOneActivation()
    {
        var calls = Enumerable.Range(0, 50)
            .Select(_ => Task.Run(() => _cluster.Grains.GetGrain<ICounterGrain>("crowd").GetActivationNumber()))
            .ToArray();

        var numbers = await Task.WhenAll(calls).WaitAsync(TestTimeouts.Wait);

        Assert.Single(numbers.Distinct());
        Assert.Equal(1, _cluster.Probe.Count("activate:crowd"));
    }

    [Fact]
    public async Task Activation_OnActivateThrows_FailsCallAndIsRetriedOnNextCall()
    {
        _cluster.Probe.Record("fail-activation:flaky");
        var grain = _cluster.Grains.GetGrain<IFlakyGrain>("flaky");

        var error = await Assert.ThrowsAsync<TestGrainException>(() => grain.Hello());
        var hello = await grain.Hello();

        Assert.Contains("failed on purpose", error.Message);
        Assert.Equal("hello", hello);
        Assert.Equal(2, _cluster.Probe.Count("activation-attempt:flaky"));
    }

    [Fact]
    public async Task Activation_StateReadFails_FailsCallAndIsRetriedOnNextCall()
    {
        await ExecuteSqlAsync(
            "INSERT INTO grain_state (grain_type, grain_key, state_name, version, payload) VALUES ('counter', 'corrupt', 'counter', 1, 'not json')");
        var grain = _cluster.Grains.GetGrain<ICounterGrain>("corrupt");

        await Assert.ThrowsAnyAsync<System.Text.Json.JsonException>(() => grain.Get());
        Assert.Equal(0, _cluster.Probe.Count("activate:corrupt"));
        await ExecuteSqlAsync("UPDATE grain_state SET payload = '{\"value\":41}' WHERE grain_key = 'corrupt'");
        var value = await grain.Increment();

        Assert.Equal(42, value);
        Assert.Equal(1, _cluster.Probe.Count("activate:corrupt"));
    }

    [Fact]
    public async Task Grain_Context_ExposesGrainTypeKeyAndState()
    {
        var description = await _cluster.Grains.GetGrain<ICounterGrain>("ctx").Describe();
        var named = await _cluster.Grains.GetGrain<INamedGrain>("x").GetType2();

        Assert.Equal("counter|ctx||False", description);
        Assert.Equal("custom-named", named);
    }

    private async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = await _cluster.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
