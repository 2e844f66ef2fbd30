using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Streaming;

/// <summary>
/// Drives one turn's events into an SSE dialect (Responses events or Chat Completions chunks): the subclass says how to open the
/// stream and how to write a delta, the completion and a failure; this loop guarantees exactly one terminal outcome, keep-alive
/// pings while nothing arrives, and that a grain call that breaks after the first byte still ends the stream with an error.
/// </summary>
public abstract class TurnStreamWriter(SseWriter sse)
{
    protected SseWriter Sse { get; } = sse;

    /// <param name="events">The turn's events; a null item is a keep-alive tick.</param>
    public async Task<TurnOutcome> WriteAsync(IAsyncEnumerable<TurnEvent?> events, CancellationToken cancellationToken)
    {
        try
        {
            await StartAsync(cancellationToken);
            await foreach (var turnEvent in events.WithCancellation(cancellationToken))
            {
                switch (turnEvent)
                {
                    case null:
                        await Sse.WritePingAsync(cancellationToken);
                        break;
                    case { Kind: TurnEventKind.TextDelta, Text: { Length: > 0 } delta }:
                        await DeltaAsync(delta, cancellationToken);
                        break;
                    case { Kind: TurnEventKind.Completed }:
                        await CompleteAsync(turnEvent, cancellationToken);
                        return TurnOutcome.Completed;
                    case { Kind: TurnEventKind.Failed }:
                        var error = turnEvent.Error ?? TurnOutcome.Broken;
                        await FailAsync(error, turnEvent.Response, cancellationToken);
                        return TurnOutcome.Failed(error);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TurnOutcome.ClientGone;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A broken grain call after the first byte: the status is committed, so the failure goes into the stream.
            var error = TurnOutcome.FromException(ex);
            await FailAsync(error, null, cancellationToken);
            return TurnOutcome.Failed(error);
        }

        await FailAsync(TurnOutcome.Broken, null, cancellationToken);
        return TurnOutcome.Failed(TurnOutcome.Broken);
    }

    protected abstract Task StartAsync(CancellationToken cancellationToken);

    protected abstract Task DeltaAsync(string delta, CancellationToken cancellationToken);

    protected abstract Task CompleteAsync(TurnEvent completed, CancellationToken cancellationToken);

    /// <param name="response">The conversation's final state of the response, when the failure came from it.</param>
    protected abstract Task FailAsync(TurnError error, StoredResponse? response, CancellationToken cancellationToken);
}
