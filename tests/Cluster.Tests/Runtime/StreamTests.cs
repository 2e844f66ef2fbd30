using Xunit;

namespace OrleansCodex.Cluster.Tests.Runtime;

public sealed class StreamTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Stream_Enumerated_YieldsItemsIncrementally()
    {
        var grain = _cluster.Grains.GetGrain<IStreamGrain>("incremental");
        var received = new List<int>();

        await using (var items = grain.Produce(3).GetAsyncEnumerator())
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
                received.Add(items.Current);
                // The grain has produced exactly what we received: it waits for us before producing more.
                Assert.Equal(0, _cluster.Probe.Count($"produced:incremental:{i + 1}"));
                _cluster.Probe.Gate("next:incremental").Release();
            }

            Assert.False(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        }

        Assert.Equal([0, 1, 2], received);
        await _cluster.Probe.WhenRecorded("stream-ended:incremental");
    }

    [Fact]
    public async Task Stream_CallerCancels_CancelsGrainEnumerationAndFreesActivation()
    {
        var grain = _cluster.Grains.GetGrain<IStreamGrain>("cancelled");
        using var cancellation = new CancellationTokenSource();
        var items = grain.Produce(10, cancellation.Token).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        await _cluster.Probe.WhenRecorded("stream-cancelled:cancelled");
        Assert.Equal("pong", await grain.Ping().WaitAsync(TestTimeouts.Wait));
        await items.DisposeAsync();
    }

    [Fact]
    public async Task Stream_WithCancellationToken_CancelsGrainEnumeration()
    {
        var grain = _cluster.Grains.GetGrain<IStreamGrain>("with-cancellation");
        using var cancellation = new CancellationTokenSource();
        var items = grain.Produce(10).GetAsyncEnumerator(cancellation.Token);
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        await cancellation.CancelAsync();

        await _cluster.Probe.WhenRecorded("stream-cancelled:with-cancellation");
        Assert.Equal("pong", await grain.Ping().WaitAsync(TestTimeouts.Wait));
        await items.DisposeAsync();
    }

    [Fact]
    public async Task Stream_CallerStopsEarly_DisposeCancelsGrainEnumeration()
    {
        var grain = _cluster.Grains.GetGrain<IStreamGrain>("abandoned");

        await foreach (var item in grain.Produce(10))
        {
            Assert.Equal(0, item);
            break;
        }

        await _cluster.Probe.WhenRecorded("stream-cancelled:abandoned");
        Assert.Equal("pong", await grain.Ping().WaitAsync(TestTimeouts.Wait));
    }

    [Fact]
    public async Task Stream_RunningEnumeration_HoldsTheTurn()
    {
        var grain = _cluster.Grains.GetGrain<IStreamGrain>("holding");
        await using var items = grain.Produce(2).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        var ping = grain.Ping();
        var pingedDuringStream = await Task.WhenAny(ping, Task.Delay(100)) == ping;
        _cluster.Probe.Gate("next:holding").Release();
        Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));
        _cluster.Probe.Gate("next:holding").Release();
        Assert.False(await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Wait));

        Assert.False(pingedDuringStream);
        Assert.Equal("pong", await ping.WaitAsync(TestTimeouts.Wait));
    }

    [Fact]
    public async Task Stream_GrainThrows_CallerGetsExceptionWithItsType()
    {
        var received = new List<int>();

        var error = await Assert.ThrowsAsync<TestGrainException>(async () =>
        {
            await foreach (var item in _cluster.Grains.GetGrain<IStreamGrain>("failing").ProduceThenThrow())
            {
                received.Add(item);
            }
        });

        Assert.Equal([1], received);
        Assert.Equal("stream failed", error.Message);
    }
}
