using System.Runtime.CompilerServices;
using System.Threading.Channels;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Silo.Membership;

namespace OrleansCodex.Api.Turns;

/// <summary>
/// One turn as an HTTP request follows it. The turn belongs to its conversation grain, which runs it whether or not anyone
/// watches; the session reads the grain's event stream into a local channel (so a slow client never stalls the grain's stream),
/// and adds what HTTP needs: a peek at the first event before the response is committed (early failures become proper HTTP
/// errors), keep-alive ticks while the turn is silent, and an end that cancels the turn when the client leaves before it finished.
/// </summary>
/// <remarks>
/// Node failures: the stream of a silo the membership declares dead ends at once (<see cref="IClusterMembershipView"/>), for pure
/// clients too, which Orleans itself would leave waiting for the call timeout. A turn whose node failed before it produced any text,
/// with nothing sent to the client yet, is started again under the same response id (the grain makes that idempotent) and the
/// client never notices; otherwise the stream ends with <see cref="TurnErrorCodes.NodeUnavailable"/>.
/// </remarks>
public sealed partial class TurnSession : IAsyncDisposable
{
    /// <summary>How often a turn that failed with its node is started again before the failure is reported.</summary>
    private const int MaxRestarts = 3;

    private static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long starting a turn is retried across node failures: a few times the ~2 s Orleans takes to declare a silo dead.</summary>
    private static readonly TimeSpan StartRetryWindow = TimeSpan.FromSeconds(8);

    private readonly TurnGateway _gateway;
    private readonly IConversationGrain _conversation;
    private readonly TurnRequest _request;
    private readonly Channel<TurnEvent> _events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Queue<TurnEvent> _peeked = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _pump = Task.CompletedTask;
    private Task<bool>? _pendingRead;
    private int _delivered;
    private bool _sawTerminal;
    private bool _disposed;

    private TurnSession(TurnGateway gateway, IConversationGrain conversation, TurnRequest request, StoredResponse accepted)
    {
        _gateway = gateway;
        _conversation = conversation;
        _request = request;
        Accepted = accepted;
    }

    /// <summary>The response as its conversation accepted it (status <c>queued</c> or <c>in_progress</c>): what <c>response.created</c> shows.</summary>
    public StoredResponse Accepted { get; }

    /// <summary>
    /// Starts the turn on its conversation; a node failure on the way is retried (the same response id, so it never runs twice). A refusal
    /// (unknown previous response, queue full, privileges…) is thrown as the HTTP error it maps to.
    /// </summary>
    internal static async Task<TurnSession> StartAsync(TurnGateway gateway, IConversationGrain conversation, TurnRequest request, CancellationToken cancellationToken)
    {
        var start = await StartWithRetriesAsync(gateway, conversation, request, cancellationToken);
        if (start.Error is { } error)
        {
            throw gateway.ErrorOf(error);
        }

        var session = new TurnSession(gateway, conversation, request, start.Response!);
        session._pump = session.PumpAsync(start.Silo);
        return session;
    }

    /// <summary>From now on the client has seen the turn: a node failure is reported, no longer hidden by starting it again.</summary>
    public void MarkDelivered() => Volatile.Write(ref _delivered, 1);

    /// <summary>Waits at most <paramref name="wait"/> for the first event; returns it (it is still delivered by <see cref="ReadAllAsync"/>) or null.</summary>
    public async Task<TurnEvent?> PeekAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_peeked.TryPeek(out var first))
        {
            return first;
        }

        if (!await WaitToReadAsync(wait, cancellationToken) || !_events.Reader.TryRead(out first))
        {
            return null;
        }

        _peeked.Enqueue(first);
        return first;
    }

    /// <summary>All events in order (a peeked one first), ending with the terminal one; a null item is a keep-alive tick after <paramref name="keepAlive"/> of silence.</summary>
    public async IAsyncEnumerable<TurnEvent?> ReadAllAsync(TimeSpan keepAlive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (!_peeked.TryDequeue(out var next) && !_events.Reader.TryRead(out next))
            {
                if (!await WaitToReadAsync(keepAlive, cancellationToken))
                {
                    if (_events.Reader.Completion.IsCompleted)
                    {
                        yield break;
                    }

                    yield return null;
                }

                continue;
            }

            _sawTerminal |= next.IsTerminal;
            yield return next;
            if (next.IsTerminal)
            {
                yield break;
            }
        }
    }

    /// <summary>Reads to the terminal event, for answers that are not streamed.</summary>
    public async Task<TurnEvent> ReadToEndAsync(CancellationToken cancellationToken)
    {
        await foreach (var turnEvent in ReadAllAsync(Timeout.InfiniteTimeSpan, cancellationToken))
        {
            if (turnEvent is { IsTerminal: true })
            {
                return turnEvent;
            }
        }

        return TurnEvent.Fail(TurnOutcome.Broken);
    }

    /// <summary>Stops following the turn; one that has not finished is cancelled (the client went away, or writing to it failed).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop.CancelAsync();
        if (!_sawTerminal)
        {
            try
            {
                await _conversation.Cancel(_request.ResponseId).WaitAsync(CancelTimeout);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Its node is gone or slow: the turn ends there by its own deadline.
                LogCancelFailed(_gateway.Logger, _request.ResponseId, e.GetType().Name);
            }
        }

        await _pump;
        _stop.Dispose();
    }

    /// <summary>Whether at least one event is ready, waiting at most <paramref name="wait"/> (infinite: until one is, or the stream ended).</summary>
    private async Task<bool> WaitToReadAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        _pendingRead ??= _events.Reader.WaitToReadAsync(_stop.Token).AsTask();
        var pending = _pendingRead;
        if (!pending.IsCompleted)
        {
            if (wait == Timeout.InfiniteTimeSpan)
            {
                await pending.WaitAsync(cancellationToken);
            }
            else
            {
                try
                {
                    await pending.WaitAsync(wait, _gateway.TimeProvider, cancellationToken);
                }
                catch (TimeoutException)
                {
                    return false;
                }
            }
        }

        _pendingRead = null;
        return await pending;
    }

    /// <summary>Reads the grain's stream of the turn into the channel, across node failures (see the remarks).</summary>
    private async Task PumpAsync(SiloAddress? silo)
    {
        var after = -1;
        var restarts = 0;
        var sawText = false;
        try
        {
            while (true)
            {
                var failure = await WatchAsync(silo, after, e =>
                {
                    after = e.Sequence;
                    sawText |= e.Kind == TurnEventKind.TextDelta;
                });
                if (failure is null)
                {
                    return;
                }

                if (!TurnOutcome.IsNodeFailure(failure) || sawText || Volatile.Read(ref _delivered) == 1 || restarts++ >= MaxRestarts)
                {
                    _events.Writer.TryWrite(TurnEvent.Fail(TurnOutcome.FromException(failure)));
                    return;
                }

                LogRestart(_gateway.Logger, _request.ResponseId, failure.GetType().Name);
                var start = await StartWithRetriesAsync(_gateway, _conversation, _request, _stop.Token);
                if (start.Error is { } refused)
                {
                    _events.Writer.TryWrite(TurnEvent.Fail(refused));
                    return;
                }

                silo = start.Silo;
                after = -1;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _events.Writer.TryWrite(TurnEvent.Fail(TurnOutcome.FromException(e)));
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>One watch of the turn; null when it reached the terminal event (or the session stopped), else what broke it.</summary>
    private async Task<Exception?> WatchAsync(SiloAddress? silo, int after, Action<TurnEvent> seen)
    {
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var dead = silo is null ? Task.Delay(Timeout.Infinite, watch.Token) : _gateway.Membership.WhenDeadAsync(silo, watch.Token);
        var events = _conversation.Watch(_request.ResponseId, after, watch.Token).GetAsyncEnumerator(watch.Token);
        var abandoned = false;
        try
        {
            while (true)
            {
                var next = events.MoveNextAsync().AsTask();
                if (await Task.WhenAny(next, dead) != next)
                {
                    // Declared dead: Orleans would answer this call only after its timeout (a pure client) or with an error soon.
                    abandoned = true;
                    Observe(next);
                    return dead.IsCanceled ? null : new SiloUnavailableException($"Silo {silo} was declared dead.");
                }

                if (!await next)
                {
                    return new InvalidOperationException("The turn's event stream ended without a terminal event.");
                }

                var turnEvent = events.Current;
                seen(turnEvent);
                _events.Writer.TryWrite(turnEvent);
                if (turnEvent.IsTerminal)
                {
                    return null;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            await watch.CancelAsync();
            Observe(dead);
            if (abandoned)
            {
                Observe(events.DisposeAsync().AsTask());
            }
            else
            {
                await DisposeQuietlyAsync(events);
            }
        }
    }

    private static async Task<TurnStart> StartWithRetriesAsync(TurnGateway gateway, IConversationGrain conversation, TurnRequest request, CancellationToken cancellationToken)
    {
        var deadline = gateway.TimeProvider.GetUtcNow() + StartRetryWindow;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await conversation.Start(request, cancellationToken);
            }
            catch (Exception e) when (IsRetryable(e) && gateway.TimeProvider.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
            {
                // The conversation's node failed, or its directory entry still names a silo not yet declared dead (about two
                // seconds): the start is idempotent per response id, so it is simply sent again until membership has caught up.
                LogRestart(gateway.Logger, request.ResponseId, e.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 100 * attempt)), gateway.TimeProvider, cancellationToken);
            }
        }

        // A refusal of the cluster (no silo serves the provider) or a bug is not retried; a cancelled caller neither.
        static bool IsRetryable(Exception e) => e is not (ProviderUnavailableException or ArgumentException or OperationCanceledException);
    }

    private static async Task DisposeQuietlyAsync(IAsyncEnumerator<TurnEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception)
        {
            // The stream already failed or was cancelled.
        }
    }

    private static void Observe(Task task) => task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Turn {ResponseId}: its node failed ({Failure}) before it produced anything; starting it again")]
    private static partial void LogRestart(ILogger logger, string responseId, string failure);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Turn {ResponseId}: could not cancel it ({Failure})")]
    private static partial void LogCancelFailed(ILogger logger, string responseId, string failure);
}
