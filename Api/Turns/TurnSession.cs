using System.Runtime.CompilerServices;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Turns;

/// <summary>
/// A running turn's event stream, with what HTTP needs on top of it: peeking at the first meaningful event before the response
/// is committed (so early failures become proper HTTP errors), keep-alive ticks while the turn is silent, and an end that
/// never leaves the turn running: stopping early cancels it, stopping after its terminal event lets it finish.
/// </summary>
public sealed class TurnSession : IAsyncDisposable
{
    /// <summary>How long a turn may take to finish after its terminal event before it is cancelled.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly IAsyncEnumerator<TurnEvent> _events;
    private readonly CancellationTokenSource _cancellation;
    private readonly TimeProvider _timeProvider;
    private readonly Queue<TurnEvent> _buffered = new();
    private Task<bool>? _pending;
    private bool _ended;
    private bool _sawTerminal;
    private bool _disposed;

    private TurnSession(IAsyncEnumerator<TurnEvent> events, CancellationTokenSource cancellation, TimeProvider timeProvider)
    {
        _events = events;
        _cancellation = cancellation;
        _timeProvider = timeProvider;
    }

    /// <summary>Starts a turn; <paramref name="run"/> receives a token that ends when <paramref name="cancellationToken"/> does or the session stops early.</summary>
    public static TurnSession Start(Func<CancellationToken, IAsyncEnumerable<TurnEvent>> run, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return new TurnSession(run(cancellation.Token).GetAsyncEnumerator(cancellation.Token), cancellation, timeProvider);
    }

    /// <summary>
    /// Waits at most <paramref name="wait"/> for the first event that is not <see cref="TurnEventKind.SessionStarted"/>; returns it
    /// (it is still delivered by <see cref="ReadAllAsync"/>) or null when none came in time or the stream ended.
    /// </summary>
    public async Task<TurnEvent?> PeekAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow() + wait;
        while (!_ended)
        {
            _pending ??= _events.MoveNextAsync().AsTask();
            var remaining = deadline - _timeProvider.GetUtcNow();
            if (!_pending.IsCompleted && remaining > TimeSpan.Zero)
            {
                await WhenCompletedOrElapsed(_pending, remaining, cancellationToken);
            }

            if (!_pending.IsCompleted || !await TakePending())
            {
                return null;
            }

            var current = Current();
            _buffered.Enqueue(current);
            if (current.Kind != TurnEventKind.SessionStarted)
            {
                return current;
            }
        }

        return null;
    }

    /// <summary>All events in order (peeked ones first); a null item is a keep-alive tick after <paramref name="keepAlive"/> of silence.</summary>
    public async IAsyncEnumerable<TurnEvent?> ReadAllAsync(TimeSpan keepAlive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (_buffered.TryDequeue(out var buffered))
        {
            yield return buffered;
        }

        while (!_ended)
        {
            _pending ??= _events.MoveNextAsync().AsTask();
            if (!_pending.IsCompleted && !await WhenCompletedOrElapsed(_pending, keepAlive, cancellationToken))
            {
                yield return null;
                continue;
            }

            if (!await TakePending())
            {
                yield break;
            }

            yield return Current();
        }
    }

    /// <summary>Reads to the terminal event, for non-streamed answers; null when the stream ended without one.</summary>
    public async Task<TurnEvent?> ReadToEndAsync(CancellationToken cancellationToken)
    {
        await foreach (var turnEvent in ReadAllAsync(Timeout.InfiniteTimeSpan, cancellationToken))
        {
            if (turnEvent is { IsTerminal: true })
            {
                return turnEvent;
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_sawTerminal)
        {
            // Nobody reads the rest (the client left, or writing failed): end the turn and its CLI process.
            await _cancellation.CancelAsync();
        }
        else
        {
            _cancellation.CancelAfter(DrainTimeout);
        }

        try
        {
            // An enumerator may not be disposed while a MoveNext is in flight; after the terminal event, let the turn finish its bookkeeping.
            if (_pending is not null)
            {
                await TakePending();
            }

            while (_sawTerminal && !_ended && await _events.MoveNextAsync())
            {
            }
        }
        catch (Exception)
        {
            // Cancelled or already reported through the response.
        }

        await _events.DisposeAsync();
        _cancellation.Dispose();
    }

    private TurnEvent Current()
    {
        var current = _events.Current;
        _sawTerminal |= current.IsTerminal;
        return current;
    }

    private async Task<bool> TakePending()
    {
        var pending = _pending!;
        _pending = null;
        var hasNext = await pending;
        _ended = !hasNext;
        return hasNext;
    }

    private async Task<bool> WhenCompletedOrElapsed(Task<bool> pending, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait == Timeout.InfiniteTimeSpan)
        {
            await pending.WaitAsync(cancellationToken);
            return true;
        }

        using var delayCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, _timeProvider, delayCancellation.Token);
        var winner = await Task.WhenAny(pending, delay);
        await delayCancellation.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return winner == pending;
    }
}
