using OrleansCodex.Api.Errors;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Turns;

/// <summary>What every turn endpoint does with a started turn, streamed or not; the request log learns how it ended.</summary>
internal static class TurnEndpoint
{
    /// <summary>Runs the turn to its end; anything but a completed turn is thrown as its HTTP error. Returns the terminal event and the final response.</summary>
    public static async Task<(TurnEvent Completed, StoredResponse Final)> RunToEndAsync(
        TurnGateway turns, string conversationId, TurnRequest request, TurnLogFeature log, CancellationToken cancellationToken)
    {
        await using var session = await StartAsync(turns, conversationId, request, log, cancellationToken);
        var completed = EnsureCompleted(await session.ReadToEndAsync(cancellationToken), turns, log);
        var final = completed.Response ?? session.Accepted with
        {
            Status = ResponseStatus.Completed, OutputText = completed.Text ?? "", Usage = completed.Usage, CompletedAt = turns.TimeProvider.GetUtcNow(),
        };
        return (completed, final);
    }

    /// <summary>
    /// Starts the turn for a stream and waits up to <c>Api:FirstEventWait</c> for its first event, so that a failure that early is
    /// a real HTTP error rather than an error inside a 200 stream.
    /// </summary>
    public static async Task<TurnSession> StartStreamAsync(
        TurnGateway turns, string conversationId, TurnRequest request, TurnLogFeature log, CancellationToken cancellationToken)
    {
        var session = await StartAsync(turns, conversationId, request, log, cancellationToken);
        try
        {
            if (await session.PeekAsync(turns.Options.FirstEventWait, cancellationToken) is { Kind: TurnEventKind.Failed } failed)
            {
                EnsureCompleted(failed, turns, log);
            }
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }

        return session;
    }

    private static async Task<TurnSession> StartAsync(TurnGateway turns, string conversationId, TurnRequest request, TurnLogFeature log, CancellationToken cancellationToken)
    {
        try
        {
            return await turns.StartAsync(conversationId, request, cancellationToken);
        }
        catch (OpenAiException refused)
        {
            log.Status = ResponseStatus.Failed;
            log.ErrorCode = refused.Code;
            throw;
        }
    }

    /// <summary>Throws the HTTP error for anything but a completed turn.</summary>
    private static TurnEvent EnsureCompleted(TurnEvent last, TurnGateway turns, TurnLogFeature log)
    {
        if (last.Kind == TurnEventKind.Completed)
        {
            log.Status = ResponseStatus.Completed;
            return last;
        }

        var error = last.Error ?? TurnOutcome.Broken;
        var outcome = TurnOutcome.Failed(error);
        log.Status = outcome.Status;
        log.ErrorCode = outcome.ErrorCode;
        throw turns.ErrorOf(error);
    }
}
