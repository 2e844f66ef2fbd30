using System.Text.Json;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Errors;

/// <summary>The one place that maps failures (exceptions, bare status codes, turn errors) onto OpenAI's error envelope.</summary>
public static class OpenAiErrors
{
    /// <summary>A moved conversation is usually served again within seconds (Orleans declares a dead silo in about two).</summary>
    private const int NodeRetryAfterSeconds = 5;

    /// <summary>The error for an exception: known shapes keep theirs, anything unexpected is a 500 without details.</summary>
    public static OpenAiException FromException(Exception exception) => exception switch
    {
        OpenAiException known => known,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            new(StatusCodes.Status413PayloadTooLarge, "The request body is larger than this server accepts (Api:MaxRequestBodyBytes).", OpenAiErrorTypes.InvalidRequest, null, "request_too_large"),
        BadHttpRequestException bad =>
            new(bad.StatusCode, "The request could not be read: " + bad.Message, OpenAiErrorTypes.InvalidRequest),
        JsonException json => OpenAiException.InvalidRequest(JsonMessage(json), JsonParam(json), "invalid_json"),
        OrleansException or TimeoutException => FromTurnError(TurnOutcome.FromException(exception), NodeRetryAfterSeconds),
        _ => new(StatusCodes.Status500InternalServerError, "The server had an error while processing your request.", OpenAiErrorTypes.Server, null, "server_error"),
    };

    /// <summary>The error for a bare status code (unknown route, wrong method, …) that no handler described.</summary>
    public static OpenAiException FromStatusCode(int statusCode, string method, string path) => statusCode switch
    {
        StatusCodes.Status404NotFound => OpenAiException.NotFound($"Unknown request URL: {method} {path}.", null, "unknown_url"),
        StatusCodes.Status405MethodNotAllowed => new(statusCode, $"Method {method} is not allowed for {path}.", OpenAiErrorTypes.InvalidRequest, null, "method_not_allowed"),
        StatusCodes.Status401Unauthorized => Unauthorized(),
        StatusCodes.Status413PayloadTooLarge => new(statusCode, "The request body is too large.", OpenAiErrorTypes.InvalidRequest, null, "request_too_large"),
        StatusCodes.Status415UnsupportedMediaType => UnsupportedContentType(null),
        >= 500 => new(statusCode, "The server had an error while processing your request.", OpenAiErrorTypes.Server, null, "server_error"),
        _ => new(statusCode, $"The request failed with status {statusCode}.", OpenAiErrorTypes.InvalidRequest),
    };

    /// <summary>The error for a failed turn, with the HTTP status its code implies.</summary>
    public static OpenAiException FromTurnError(TurnError error, int retryAfterSeconds)
    {
        var status = TurnErrorCodes.HttpStatus(error.Code);
        var type = status switch
        {
            429 => OpenAiErrorTypes.RateLimit,
            503 => OpenAiErrorTypes.ServiceUnavailable,
            502 or 504 => OpenAiErrorTypes.Upstream,
            >= 500 => OpenAiErrorTypes.Server,
            _ => OpenAiErrorTypes.InvalidRequest,
        };
        var param = error.Param
            ?? (error.Code == TurnErrorCodes.PreviousResponseNotFound ? "previous_response_id" : error.Code == TurnErrorCodes.ModelNotFound ? "model" : null);
        return new(status, error.Message, type, param, error.Code, status is 429 or 503 ? retryAfterSeconds : null);
    }

    public static OpenAiException Unauthorized() => new(StatusCodes.Status401Unauthorized,
        "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'.", OpenAiErrorTypes.Authentication, null, "invalid_api_key");

    public static OpenAiException UnsupportedContentType(string? contentType) => new(StatusCodes.Status415UnsupportedMediaType,
        $"Unsupported content type: '{contentType ?? "(none)"}'. This endpoint only accepts 'application/json' request bodies.",
        OpenAiErrorTypes.InvalidRequest, null, "unsupported_content_type");

    /// <summary>Writes the envelope (and <c>Retry-After</c>) unless the response has already started.</summary>
    public static async Task WriteAsync(HttpContext context, OpenAiException error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = error.StatusCode;
        if (error.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (error.StatusCode == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new OpenAiErrorEnvelope(error.ToBody()), OpenAiJsonContext.Default.OpenAiErrorEnvelope, context.RequestAborted);
    }

    private static string JsonMessage(JsonException json) =>
        json.Path is { Length: > 1 } path
            ? $"Invalid value at '{path}': {FirstSentence(json.Message)}"
            : "We could not parse the JSON body of your request. Send a valid JSON object.";

    private static string? JsonParam(JsonException json) =>
        json.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
