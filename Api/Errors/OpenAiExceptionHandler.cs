using Microsoft.AspNetCore.Diagnostics;
using OrleansCodex.Api.Logging;

namespace OrleansCodex.Api.Errors;

/// <summary>Turns every exception that escapes an endpoint into OpenAI's error envelope; never a stack trace or ProblemDetails.</summary>
internal sealed class OpenAiExceptionHandler(ILogger<OpenAiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody reads an answer.
            httpContext.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
            return true;
        }

        var error = OpenAiErrors.FromException(exception);
        if (error.StatusCode >= 500 && exception is not OpenAiException)
        {
            ApiLog.UnhandledException(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        await OpenAiErrors.WriteAsync(httpContext, error);
        return true;
    }
}
