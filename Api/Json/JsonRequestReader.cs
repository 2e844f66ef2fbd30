using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;

namespace OrleansCodex.Api.Json;

/// <summary>
/// Reads a JSON request body with the source-generated context, so that every way a body can be wrong (content type, size,
/// syntax, field types) becomes an OpenAI error we chose rather than a model-binding default.
/// </summary>
internal static class JsonRequestReader
{
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo) where T : class
    {
        var maxBytes = request.HttpContext.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes;
        if (!IsJson(request.ContentType))
        {
            throw OpenAiErrors.UnsupportedContentType(request.ContentType);
        }

        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Let the server stop an oversized chunked body early; we count as well, for servers that do not enforce it.
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and var length ? (int)length : 4096);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(16 * 1024), request.HttpContext.RequestAborted);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                throw TooLarge(maxBytes);
            }
        }

        if (buffer.WrittenCount == 0)
        {
            throw OpenAiException.InvalidRequest("The request body is empty. Send a JSON object.", null, "invalid_json");
        }

        return JsonSerializer.Deserialize(buffer.WrittenSpan, typeInfo)
            ?? throw OpenAiException.InvalidRequest("The request body must be a JSON object.", null, "invalid_json");
    }

    internal static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static OpenAiException TooLarge(long maxBytes) => new(StatusCodes.Status413PayloadTooLarge,
        $"The request body is larger than the {maxBytes} bytes this server accepts (Api:MaxRequestBodyBytes).",
        OpenAiErrorTypes.InvalidRequest, null, "request_too_large");
}
