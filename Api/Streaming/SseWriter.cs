using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace OrleansCodex.Api.Streaming;

/// <summary>Server-sent-event framing over a stream, flushed per event so that clients see every delta at once.</summary>
public sealed class SseWriter(Stream body)
{
    private static readonly byte[] Ping = ": ping\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>Sets the event-stream headers, turns off response buffering and sends the headers.</summary>
    public static async Task<SseWriter> StartAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(context.RequestAborted);
        return new SseWriter(context.Response.Body);
    }

    /// <summary><c>event: type</c> + <c>data: json</c>, as the Responses API sends them.</summary>
    public Task WriteEventAsync<T>(string eventType, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        WriteAsync(Encoding.UTF8.GetBytes($"event: {eventType}\n"), data, typeInfo, cancellationToken);

    /// <summary><c>data: json</c> alone, as Chat Completions sends it.</summary>
    public Task WriteDataAsync<T>(T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        WriteAsync([], data, typeInfo, cancellationToken);

    public Task WritePingAsync(CancellationToken cancellationToken) => WriteRawAsync(Ping, cancellationToken);

    public Task WriteDoneAsync(CancellationToken cancellationToken) => WriteRawAsync(Done, cancellationToken);

    private async Task WriteAsync<T>(byte[] prefix, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(data, typeInfo);
        var frame = new byte[prefix.Length + 6 + json.Length + 2];
        prefix.CopyTo(frame, 0);
        "data: "u8.CopyTo(frame.AsSpan(prefix.Length));
        json.CopyTo(frame, prefix.Length + 6);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        await WriteRawAsync(frame, cancellationToken);
    }

    private async Task WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await body.WriteAsync(bytes, cancellationToken);
        await body.FlushAsync(cancellationToken);
    }
}
