using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Logging;

/// <summary>One structured line per request (method, path, status, duration), with the turn's ids, model, provider and outcome for turns.</summary>
internal sealed class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger, TimeProvider timeProvider)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = timeProvider.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var durationMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
            var request = context.Request;
            var statusCode = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted
                ? StatusCodes.Status499ClientClosedRequest
                : context.Response.StatusCode;
            if (context.Features.Get<TurnLogFeature>() is { } turn)
            {
                if (turn.Status == ResponseStatus.InProgress && context.RequestAborted.IsCancellationRequested)
                {
                    turn.Status = ResponseStatus.Cancelled;
                }

                ApiLog.TurnRequestCompleted(logger, request.Method, request.Path, statusCode, durationMs,
                    turn.ResponseId, turn.ConversationId, turn.Model, turn.Provider, turn.Status, turn.ErrorCode is null ? "" : " " + turn.ErrorCode);
            }
            else
            {
                ApiLog.RequestCompleted(logger, request.Method, request.Path, statusCode, durationMs);
            }
        }
    }
}
