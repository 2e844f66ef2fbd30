using OrleansCodex.Grains.Conversations;

using OrleansCodex.Api.Streaming;

namespace OrleansCodex.Api.Turns;

/// <summary>Streams a started turn as server-sent events, with keep-alive comments, and records how it ended for the request log.</summary>
public sealed class TurnStreamResult(
    TurnSession session,
    Func<SseWriter, IAsyncEnumerable<TurnEvent?>, CancellationToken, Task<TurnOutcome>> write,
    TimeSpan keepAlive) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        await using (session)
        {
            var cancellationToken = httpContext.RequestAborted;
            TurnOutcome outcome;
            try
            {
                // From the first byte on, the client has seen the turn: it is no longer started again behind its back.
                session.MarkDelivered();
                var sse = await SseWriter.StartAsync(httpContext);
                outcome = await write(sse, session.ReadAllAsync(keepAlive, cancellationToken), cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                outcome = TurnOutcome.ClientGone;
            }

            if (httpContext.Features.Get<TurnLogFeature>() is { } log)
            {
                log.Status = outcome.Status;
                log.ErrorCode = outcome.ErrorCode;
            }
        }
    }
}
