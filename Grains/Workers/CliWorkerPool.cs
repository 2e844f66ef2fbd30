using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// Hands out this node's idle CLI worker grains, like Orleans' stateless-worker pool: a turn takes a free worker key for its
/// duration and gives it back. The number of workers bounds how many CLI processes run at once; a turn that finds none free waits
/// up to <see cref="WorkerOptions.QueueTimeout"/>.
/// </summary>
public sealed class CliWorkerPool
{
    private readonly Dictionary<CliProvider, Channel<string>> _idle = [];
    private readonly TimeSpan _queueTimeout;

    public CliWorkerPool(IOptions<WorkerOptions> options)
    {
        _queueTimeout = options.Value.QueueTimeout;
        Fill(CliProvider.Codex, options.Value.Codex);
        Fill(CliProvider.Claude, options.Value.Claude);
    }

    /// <summary>Workers of a provider that are free right now.</summary>
    public int IdleCount(CliProvider provider) => _idle[provider].Reader.Count;

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
        try
        {
            key = await idle.Reader.ReadAsync(wait.Token);
            return new WorkerLease(key, idle.Writer);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
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
