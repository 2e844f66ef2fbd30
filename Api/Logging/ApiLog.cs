namespace OrleansCodex.Api.Logging;

/// <summary>The front end's log events, with stable ids.</summary>
internal static partial class ApiLog
{
    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Unhandled exception in {Method} {Path}")]
    public static partial void UnhandledException(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "No API key is set (Auth:ApiKey / PROXY_API_KEY): /v1 is open to anyone who can reach {Urls}")]
    public static partial void NoApiKey(ILogger logger, string urls);
}
