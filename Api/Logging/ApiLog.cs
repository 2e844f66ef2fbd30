namespace OrleansCodex.Api.Logging;

/// <summary>The front end's log events, with stable ids.</summary>
internal static partial class ApiLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "{Method} {Path} -> {StatusCode} in {DurationMs:0.0} ms")]
    public static partial void RequestCompleted(ILogger logger, string method, string path, int statusCode, double durationMs);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "{Method} {Path} -> {StatusCode} in {DurationMs:0.0} ms; turn {ResponseId} of {ConversationId} on {Model} ({Provider}): {TurnStatus}{ErrorCode}")]
    public static partial void TurnRequestCompleted(ILogger logger, string method, string path, int statusCode, double durationMs,
        string responseId, string conversationId, string model, string provider, string turnStatus, string? errorCode);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Unhandled exception in {Method} {Path}")]
    public static partial void UnhandledException(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "No API key is set (Auth:ApiKey / PROXY_API_KEY): /v1 is open to anyone who can reach {Urls}")]
    public static partial void NoApiKey(ILogger logger, string urls);
}
