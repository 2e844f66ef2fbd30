namespace OrleansCodex.Api.Errors;

/// <summary>An <see cref="IResult"/> that writes OpenAI's error envelope, for handlers that answer an error without throwing.</summary>
public sealed class OpenAiErrorResult(OpenAiException error) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => error.StatusCode;

    public OpenAiException Error => error;

    public Task ExecuteAsync(HttpContext httpContext) => OpenAiErrors.WriteAsync(httpContext, error);
}
