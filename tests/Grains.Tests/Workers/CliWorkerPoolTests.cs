using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Workers;

public sealed class CliWorkerPoolTests
{
    private static CliWorkerPool Pool(int workers, int maxQueued, TimeSpan? queueTimeout = null) =>
        new(Options.Create(new WorkerOptions { Codex = workers, Claude = workers, MaxQueuedTurns = maxQueued, QueueTimeout = queueTimeout ?? TimeSpan.FromSeconds(30) }), []);

    [Fact]
    public async Task Acquire_BeyondTheQueueBound_IsRefusedAtOnceWithQueueFull()
    {
        var pool = Pool(workers: 1, maxQueued: 2);
        using var busy = (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Lease;
        using var cancel = new CancellationTokenSource();
        var waiting1 = pool.AcquireAsync(CliProvider.Codex, cancel.Token);
        var waiting2 = pool.AcquireAsync(CliProvider.Codex, cancel.Token);

        var third = await pool.AcquireAsync(CliProvider.Codex, cancel.Token);

        Assert.Null(third.Lease);
        Assert.Equal(WorkerRefusal.QueueFull, third.Refusal);
        Assert.Equal(2, pool.QueuedCount(CliProvider.Codex));
        Assert.False(waiting1.IsCompleted);
        Assert.False(waiting2.IsCompleted);

        // The queue is per provider: Claude still has its worker.
        using var claude = (await pool.AcquireAsync(CliProvider.Claude, CancellationToken.None)).Lease;
        Assert.NotNull(claude);

        // A freed worker goes to a waiting turn, which makes room in the queue again.
        busy!.Dispose();
        var served = await waiting1;
        Assert.NotNull(served.Lease);
        Assert.Equal(1, pool.QueuedCount(CliProvider.Codex));
        served.Lease!.Dispose();
        using var next = (await waiting2).Lease;
        Assert.NotNull(next);
        Assert.Equal(0, pool.QueuedCount(CliProvider.Codex));
    }

    [Fact]
    public async Task Acquire_NoWorkerFreedWithinTheQueueTimeout_IsRefusedWithQueueTimeout()
    {
        var pool = Pool(workers: 1, maxQueued: 4, queueTimeout: TimeSpan.FromMilliseconds(200));
        using var busy = (await pool.AcquireAsync(CliProvider.Claude, CancellationToken.None)).Lease;

        var waited = await pool.AcquireAsync(CliProvider.Claude, CancellationToken.None);

        Assert.Null(waited.Lease);
        Assert.Equal(WorkerRefusal.QueueTimeout, waited.Refusal);
        Assert.Equal(0, pool.QueuedCount(CliProvider.Claude));
    }

    [Fact]
    public async Task Acquire_ZeroQueue_RefusesAsSoonAsAllWorkersAreBusy()
    {
        var pool = Pool(workers: 2, maxQueued: 0);
        using var a = (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Lease;
        using var b = (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Lease;

        Assert.Equal(WorkerRefusal.QueueFull, (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Refusal);
    }
}
