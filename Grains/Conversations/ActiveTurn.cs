using System.Text;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// A turn its conversation owns: queued → in progress → terminal, with the numbered log of the events it produced (text deltas,
/// then one terminal event) for watchers that join at any point. Lives in the grain's activation, so it is only ever touched by
/// the activation's one thread.
/// </summary>
internal sealed class ActiveTurn(TurnRequest request, StoredResponse response, DateTimeOffset deadline) : IDisposable
{
    private readonly List<TurnEvent> _events = [];
    private readonly TaskCompletionSource _finished = NewSignal();
    private TaskCompletionSource _changed = NewSignal();

    public TurnRequest Request { get; } = request;

    /// <summary>The response as it stands (the projection GET and the stream's lifecycle events show).</summary>
    public StoredResponse Response { get; private set; } = response;

    /// <summary>When the conversation gives up on the turn whatever its CLI does: the queue wait and the CLI's own deadline, plus a margin.</summary>
    public DateTimeOffset Deadline { get; } = deadline;

    /// <summary>Cancelled by <see cref="IConversationGrain.Cancel"/>, the deadline, or the activation going away; reaches the CLI.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Why the turn was cancelled (the client, the deadline, the node stopping); null while it was not.</summary>
    public TurnError? CancelledBecause { get; private set; }

    /// <summary>The answer so far.</summary>
    public StringBuilder Text { get; } = new();

    public IReadOnlyList<TurnEvent> Events => _events;

    public bool IsDone { get; private set; }

    /// <summary>Completes once the turn is finished and stored.</summary>
    public Task Finished => _finished.Task;

    public DateTimeOffset? FinishedAt { get; private set; }

    public int Watchers { get; set; }

    /// <summary>While queued: the grain timer that fails the turn when it waited too long.</summary>
    public IDisposable? QueueTimer { get; set; }

    public void Start() => Response = Response with { Status = ResponseStatus.InProgress };

    public void AppendDelta(string text)
    {
        Text.Append(text);
        Append(TurnEvent.Delta(text));
    }

    /// <summary>Ends the turn: its final response and the terminal event carrying it. Later calls are ignored.</summary>
    public void Finish(StoredResponse final, DateTimeOffset now)
    {
        if (IsDone)
        {
            return;
        }

        Response = final;
        IsDone = true;
        FinishedAt = now;
        Append(TurnEvent.Terminal(final, _events.Count));
        _finished.TrySetResult();
    }

    /// <summary>Asks the turn to stop for <paramref name="reason"/>; the first reason given is the one reported.</summary>
    public void Cancel(TurnError reason)
    {
        if (IsDone)
        {
            return;
        }

        CancelledBecause ??= reason;
        Cancellation.Cancel();
    }

    /// <summary>Completes when an event is appended after this call (or at once when the turn is done).</summary>
    public Task WhenChangedAsync(CancellationToken cancellationToken) =>
        IsDone ? Task.CompletedTask : _changed.Task.WaitAsync(cancellationToken);

    public void Dispose()
    {
        QueueTimer?.Dispose();
        Cancellation.Dispose();
    }

    private void Append(TurnEvent turnEvent)
    {
        _events.Add(turnEvent with { Sequence = _events.Count });
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    // Continuations run on the grain's scheduler through the awaiting watcher's context, never inline in the appender.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
