using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// Hands out this node's idle CLI worker grains, like Orleans' stateless-worker pool: a turn takes a free worker key for its
/// duration and gives it back. The number of workers bounds how many CLI processes run at once; a turn that finds none free waits
/// up to <see cref="WorkerOptions.QueueTimeout"/>.
/// </summary>
public sealed class CliWorkerPool : INodeLoad
{
    private readonly Dictionary<CliProvider, Channel<string>> _idle = [];
    private readonly Dictionary<CliProvider, int> _capacity = [];
    private int _waiting;
    private readonly TimeSpan _queueTimeout;

    public CliWorkerPool(IOptions<WorkerOptions> options)
    {
        _queueTimeout = options.Value.QueueTimeout;
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

    /// <summary>Takes a free worker; null when none became free within the queue timeout.</summary>
    public async Task<WorkerLease?> AcquireAsync(CliProvider provider, CancellationToken cancellationToken)
    {
        var idle = _idle[provider];
        if (idle.Reader.TryRead(out var key))
        {
            return new WorkerLease(key, idle.Writer);
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(_queueTimeout);
        Interlocked.Increment(ref _waiting);
        try
        {
            key = await idle.Reader.ReadAsync(wait.Token);
            return new WorkerLease(key, idle.Writer);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
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
    }

    public static string WorkerKey(CliProvider provider, int index) => $"{provider.ToString().ToLowerInvariant()}-{index}";
}

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
