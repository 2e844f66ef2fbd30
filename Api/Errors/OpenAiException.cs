namespace OrleansCodex.Api.Errors;

/// <summary>A failure with a known OpenAI error shape; the exception handler turns it into the error envelope.</summary>
public sealed class OpenAiException(int statusCode, string message, string type, string? param = null, string? code = null, int? retryAfterSeconds = null)
    : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public int? RetryAfterSeconds { get; } = retryAfterSeconds;

    public OpenAiErrorBody ToBody() => new(Message, Type, Param, Code);

    public static OpenAiException InvalidRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, OpenAiErrorTypes.InvalidRequest, param, code);

    public static OpenAiException NotFound(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status404NotFound, message, OpenAiErrorTypes.InvalidRequest, param, code);
}

/// <summary>OpenAI's error <c>type</c> values.</summary>
public static class OpenAiErrorTypes
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "invalid_request_error";
    public const string RateLimit = "rate_limit_error";
    public const string Server = "server_error";
    public const string ServiceUnavailable = "service_unavailable_error";
    public const string Upstream = "upstream_error";
}

/// <summary>The inside of <c>{"error":{…}}</c>: all four keys are always written.</summary>
public sealed record OpenAiErrorBody(string Message, string Type, string? Param, string? Code);

/// <summary>OpenAI's error envelope.</summary>
public sealed record OpenAiErrorEnvelope(OpenAiErrorBody Error);
