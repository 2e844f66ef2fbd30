using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Testing;

public sealed class ManualTimeProviderTests
{
    [Fact]
    public async Task Advance_PastPeriodicTimer_TicksPeriodicTimer()
    {
        var clock = new ManualTimeProvider();
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), clock);
        var tick = timer.WaitForNextTickAsync().AsTask();
        Assert.False(tick.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(tick.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.True(await tick.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Advance_PastDelayAndTimeout_CompletesDelayAndCancelsToken()
    {
        var clock = new ManualTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(10), clock);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20), clock);

        clock.Advance(TimeSpan.FromSeconds(10));
        await delay.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(timeout.IsCancellationRequested);
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.True(timeout.IsCancellationRequested);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 20, TimeSpan.Zero), clock.GetUtcNow());
    }
}
