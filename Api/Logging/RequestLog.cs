using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using Serilog.AspNetCore;
using Serilog.Events;

namespace OrleansCodex.Api.Logging;

/// <summary>
/// One structured line per request through Serilog's request logging: method, path, status (499 when the client left before an
/// answer), duration, and for turns the response and conversation ids, model, provider and how the turn ended. No key, no prompt.
/// </summary>
internal static class RequestLog
{
    public static void Configure(RequestLoggingOptions options)
    {
        options.MessageTemplate = "{RequestMethod} {RequestPath} -> {StatusCode} in {Elapsed:0.0} ms{Turn}";
        options.GetMessageTemplateProperties = (context, path, elapsed, statusCode) =>
        [
            new LogEventProperty("RequestMethod", new ScalarValue(context.Request.Method)),
            new LogEventProperty("RequestPath", new ScalarValue(path)),
            new LogEventProperty("StatusCode", new ScalarValue(
                context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? StatusCodes.Status499ClientClosedRequest : statusCode)),
            new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
            new LogEventProperty("Turn", new ScalarValue(TurnOf(context))),
        ];
        options.EnrichDiagnosticContext = (diagnostics, context) =>
        {
            if (context.Features.Get<TurnLogFeature>() is { } turn)
            {
                diagnostics.Set("ResponseId", turn.ResponseId);
                diagnostics.Set("ConversationId", turn.ConversationId);
                diagnostics.Set("Model", turn.Model);
                diagnostics.Set("Provider", turn.Provider);
                diagnostics.Set("TurnStatus", StatusOf(context, turn));
                diagnostics.Set("ErrorCode", turn.ErrorCode);
            }
        };
    }

    private static string TurnOf(HttpContext context) => context.Features.Get<TurnLogFeature>() is { } turn
        ? $"; turn {turn.ResponseId} of {turn.ConversationId} on {turn.Model} ({turn.Provider}): {StatusOf(context, turn)}{(turn.ErrorCode is null ? "" : " " + turn.ErrorCode)}"
        : "";

    private static string StatusOf(HttpContext context, TurnLogFeature turn) =>
        turn.Status == ResponseStatus.InProgress && context.RequestAborted.IsCancellationRequested ? ResponseStatus.Cancelled : turn.Status;
}
