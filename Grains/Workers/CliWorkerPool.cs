using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// Hands out this node's idle CLI worker grains, like Orleans' stateless-worker pool: a turn takes a free worker key for its
/// duration and gives it back. The number of workers bounds how many CLI turns run at once; a turn that finds none free waits
/// up to <see cref="WorkerOptions.QueueTimeout"/>, and at most <see cref="WorkerOptions.MaxQueuedTurns"/> turns per provider wait:
/// the queue is bounded, one more is refused at once.
/// </summary>
public sealed class CliWorkerPool : INodeLoad
{
    private readonly Dictionary<CliProvider, Channel<string>> _idle = [];
    private readonly Dictionary<CliProvider, int> _capacity = [];
    private readonly Dictionary<CliProvider, StrongBox<int>> _waitingFor = [];
    private int _waiting;
    private readonly TimeSpan _queueTimeout;
    private readonly int _maxQueued;

    public CliWorkerPool(IOptions<WorkerOptions> options)
    {
        _queueTimeout = options.Value.QueueTimeout;
        _maxQueued = options.Value.MaxQueuedTurns;
        Fill(CliProvider.Codex, options.Value.Codex);
        Fill(CliProvider.Claude, options.Value.Claude);
    }

    /// <summary>Workers of a provider that are free right now.</summary>
    public int IdleCount(CliProvider provider) => _idle[provider].Reader.Count;

    /// <summary>
    /// For placement: the busiest provider's share of busy workers, plus turns waiting for one (1 = every worker of some provider
    /// busy). A conversation placed on a saturated node would queue, so new ones go to less loaded nodes.
    /// </summary>
    public double CurrentLoad
    {
        get
        {
            var busiest = _capacity.Where(c => c.Value > 0).Select(c => (double)(c.Value - IdleCount(c.Key)) / c.Value).DefaultIfEmpty(0).Max();
            var capacity = Math.Max(1, _capacity.Values.Sum());
            return busiest + (double)Volatile.Read(ref _waiting) / capacity;
        }
    }

    /// <summary>Turns of a provider waiting for a worker right now.</summary>
    public int QueuedCount(CliProvider provider) => Volatile.Read(ref _waitingFor[provider].Value);

    /// <summary>Takes a free worker, waiting for one if the queue has room; otherwise says why there is none.</summary>
    public async Task<WorkerAcquisition> AcquireAsync(CliProvider provider, CancellationToken cancellationToken)
    {
        var idle = _idle[provider];
        if (idle.Reader.TryRead(out var key))
        {
            return new WorkerAcquisition(new WorkerLease(key, idle.Writer), WorkerRefusal.None);
        }

        var waiting = _waitingFor[provider];
        if (Interlocked.Increment(ref waiting.Value) > _maxQueued)
        {
            Interlocked.Decrement(ref waiting.Value);
            return new WorkerAcquisition(null, WorkerRefusal.QueueFull);
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(_queueTimeout);
        Interlocked.Increment(ref _waiting);
        try
        {
            key = await idle.Reader.ReadAsync(wait.Token);
            return new WorkerAcquisition(new WorkerLease(key, idle.Writer), WorkerRefusal.None);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WorkerAcquisition(null, WorkerRefusal.QueueTimeout);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Decrement(ref waiting.Value);
        }
    }

    private void Fill(CliProvider provider, int count)
    {
        var channel = Channel.CreateUnbounded<string>();
        for (var i = 0; i < count; i++)
        {
            channel.Writer.TryWrite(WorkerKey(provider, i));
        }

        _idle[provider] = channel;
        _capacity[provider] = count;
        _waitingFor[provider] = new StrongBox<int>();
    }

    public static string WorkerKey(CliProvider provider, int index) => $"{provider.ToString().ToLowerInvariant()}-{index}";
}

/// <summary>Why no worker was handed out.</summary>
public enum WorkerRefusal
{
    None,

    /// <summary><see cref="WorkerOptions.MaxQueuedTurns"/> turns were already waiting: refused at once (429).</summary>
    QueueFull,

    /// <summary>No worker became free within <see cref="WorkerOptions.QueueTimeout"/> (503).</summary>
    QueueTimeout,
}

/// <summary>The outcome of <see cref="CliWorkerPool.AcquireAsync"/>: a lease, or the reason there is none.</summary>
public readonly record struct WorkerAcquisition(WorkerLease? Lease, WorkerRefusal Refusal);

/// <summary>A worker taken from the pool; disposing gives it back.</summary>
public sealed class WorkerLease(string key, ChannelWriter<string> idle) : IDisposable
{
    private int _returned;

    public string Key { get; } = key;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            idle.TryWrite(Key);
        }
    }
}
