using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// This node's CLI slots, plain node-local code (no grain: a turn never leaves the node that runs its conversation). A turn takes a
/// free slot of its provider for its duration and runs in that provider's runner; the number of slots bounds how many CLI turns run
/// at once. A turn that finds none free waits up to <see cref="WorkerOptions.QueueTimeout"/>, and at most
/// <see cref="WorkerOptions.MaxQueuedTurns"/> turns per provider wait: the queue is bounded, one more is refused at once.
/// </summary>
public sealed class CliWorkerPool
{
    private readonly Dictionary<CliProvider, Channel<int>> _idle = [];
    private readonly Dictionary<CliProvider, int> _capacity = [];
    private readonly Dictionary<CliProvider, StrongBox<int>> _waitingFor = [];
    private readonly Dictionary<CliProvider, ICliRunner> _runners;
    private readonly TimeSpan _queueTimeout;
    private readonly int _maxQueued;
    private int _waiting;

    public CliWorkerPool(IOptions<WorkerOptions> options, IEnumerable<ICliRunner> runners)
    {
        _queueTimeout = options.Value.QueueTimeout;
        _maxQueued = options.Value.MaxQueuedTurns;
        _runners = runners.ToDictionary(r => r.Provider);
        Fill(CliProvider.Codex, options.Value.Codex);
        Fill(CliProvider.Claude, options.Value.Claude);
    }

    /// <summary>Slots of a provider that are free right now.</summary>
    public int IdleCount(CliProvider provider) => _idle[provider].Reader.Count;

    /// <summary>Slots of a provider.</summary>
    public int Capacity(CliProvider provider) => _capacity[provider];

    /// <summary>Turns of a provider waiting for a slot right now.</summary>
    public int QueuedCount(CliProvider provider) => Volatile.Read(ref _waitingFor[provider].Value);

    /// <summary>
    /// For placement: the busiest provider's share of busy slots, plus turns waiting for one (1 = every slot of some provider busy).
    /// A conversation placed on a saturated node would queue, so new ones go to less loaded nodes.
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

    /// <summary>
    /// Runs a turn in a slot of its provider: waits for one (bounded), then streams the runner's events; the slot is free again
    /// when the stream ends. No slot (queue full, or none within the queue timeout) is a <see cref="TurnEventKind.Failed"/> event.
    /// Cancellation reaches the runner, which ends the CLI's turn.
    /// </summary>
    public async IAsyncEnumerable<TurnEvent> RunAsync(CliTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (slot, refusal) = await AcquireAsync(turn.Provider, cancellationToken);
        if (slot is null)
        {
            yield return TurnEvent.Fail(refusal == WorkerRefusal.QueueFull
                ? new TurnError(TurnErrorCodes.QueueFull, $"All {turn.Provider} workers on this node are busy and {QueuedCount(turn.Provider)} turns are already waiting; try again later.")
                : new TurnError(TurnErrorCodes.Overloaded, $"All {turn.Provider} workers on this node stayed busy; try again shortly."));
            yield break;
        }

        using (slot)
        {
            var runner = _runners.GetValueOrDefault(turn.Provider) ?? throw new InvalidOperationException($"No CLI runner is registered for {turn.Provider}.");
            await foreach (var turnEvent in runner.RunAsync(turn, cancellationToken).WithCancellation(cancellationToken))
            {
                yield return turnEvent;
            }
        }
    }

    /// <summary>Takes a free slot, waiting for one if the queue has room; otherwise says why there is none.</summary>
    internal async Task<WorkerAcquisition> AcquireAsync(CliProvider provider, CancellationToken cancellationToken)
    {
        var idle = _idle[provider];
        if (idle.Reader.TryRead(out var index))
        {
            return new WorkerAcquisition(new WorkerLease(index, idle.Writer), WorkerRefusal.None);
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
            index = await idle.Reader.ReadAsync(wait.Token);
            return new WorkerAcquisition(new WorkerLease(index, idle.Writer), WorkerRefusal.None);
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
        var channel = Channel.CreateUnbounded<int>();
        for (var i = 0; i < count; i++)
        {
            channel.Writer.TryWrite(i);
        }

        _idle[provider] = channel;
        _capacity[provider] = count;
        _waitingFor[provider] = new StrongBox<int>();
    }
}

/// <summary>Why no slot was handed out.</summary>
public enum WorkerRefusal
{
    None,

    /// <summary><see cref="WorkerOptions.MaxQueuedTurns"/> turns were already waiting: refused at once (429).</summary>
    QueueFull,

    /// <summary>No slot became free within <see cref="WorkerOptions.QueueTimeout"/> (503).</summary>
    QueueTimeout,
}

/// <summary>The outcome of <see cref="CliWorkerPool.AcquireAsync"/>: a lease, or the reason there is none.</summary>
internal readonly record struct WorkerAcquisition(WorkerLease? Lease, WorkerRefusal Refusal);

/// <summary>A slot taken from the pool; disposing gives it back.</summary>
internal sealed class WorkerLease(int index, ChannelWriter<int> idle) : IDisposable
{
    private int _returned;

    public int Index { get; } = index;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            idle.TryWrite(Index);
        }
    }
}
