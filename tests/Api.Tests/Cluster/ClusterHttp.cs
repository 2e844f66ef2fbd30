using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using OrleansCodex.Testing.Service;

namespace OrleansCodex.Api.Tests.Cluster;

/// <summary>A turn's HTTP answer: status, raw body and, for a response object, its id, status and text.</summary>
public sealed record TurnAnswer(HttpStatusCode StatusCode, string Body, string NodeId)
{
    private JsonElement Root => JsonDocument.Parse(Body).RootElement;

    public bool Succeeded => StatusCode == HttpStatusCode.OK && Status == "completed";

    public string? Id => StatusCode == HttpStatusCode.OK ? Root.GetProperty("id").GetString() : null;

    public string? Status => StatusCode == HttpStatusCode.OK ? Root.GetProperty("status").GetString() : null;

    public string OutputText => StatusCode == HttpStatusCode.OK ? Root.GetProperty("output_text").GetString() ?? "" : "";

    public override string ToString() => $"{(int)StatusCode} from {NodeId}: {Body}";
}

/// <summary>One server-sent event as the client read it, with when it arrived.</summary>
public sealed record SseEvent(string Type, JsonElement Data, TimeSpan At);

/// <summary>The plain HTTP calls the cluster tests make (no SDK: the tests want the raw status and body of every answer).</summary>
public static class ClusterHttp
{
    public static HttpClient Client(ServiceProcess node, TimeSpan? timeout = null)
    {
        var http = node.CreateHttpClient();
        http.Timeout = timeout ?? TimeSpan.FromMinutes(2);
        return http;
    }

    /// <summary>A non-streamed, stored turn.</summary>
    public static async Task<TurnAnswer> TurnAsync(
        HttpClient http, string nodeId, string model, string input, string? previousResponseId, CancellationToken cancellationToken = default)
    {
        var body = new Dictionary<string, object?> { ["model"] = model, ["input"] = input, ["store"] = true };
        if (previousResponseId is not null)
        {
            body["previous_response_id"] = previousResponseId;
        }

        using var response = await http.PostAsync("v1/responses", Json(body), cancellationToken);
        return new TurnAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), nodeId);
    }

    /// <summary><c>GET /v1/responses/{id}</c>.</summary>
    public static async Task<TurnAnswer> GetAsync(HttpClient http, string nodeId, string responseId, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"v1/responses/{responseId}", cancellationToken);
        return new TurnAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), nodeId);
    }

    /// <summary>
    /// Starts a streamed turn and returns once the 200 arrived; the events are read in the background into the returned channel,
    /// which completes when the stream ends (normally, or with the exception that broke it).
    /// </summary>
    public static async Task<(HttpResponseMessage Response, ChannelReader<SseEvent> Events)> StreamTurnAsync(
        HttpClient http, string model, string input, string? previousResponseId, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object?> { ["model"] = model, ["input"] = input, ["store"] = true, ["stream"] = true };
        if (previousResponseId is not null)
        {
            body["previous_response_id"] = previousResponseId;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses") { Content = Json(body) };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var channel = Channel.CreateUnbounded<SseEvent>();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            channel.Writer.Complete();
            return (response, channel.Reader);
        }

        var clock = Stopwatch.StartNew();
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        _ = Task.Run(async () =>
        {
            try
            {
                using var reader = new StreamReader(stream);
                string? type = null;
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        type = line["event: ".Length..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        var data = line["data: ".Length..];
                        var json = data == "[DONE]" ? default : JsonDocument.Parse(data).RootElement.Clone();
                        var name = type ?? (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("type", out var t) ? t.GetString() : null) ?? "message";
                        await channel.Writer.WriteAsync(new SseEvent(name, json, clock.Elapsed), CancellationToken.None);
                        type = null;
                    }
                }

                channel.Writer.Complete();
            }
            catch (Exception ex)
            {
                channel.Writer.Complete(ex);
            }
        }, CancellationToken.None);
        return (response, channel.Reader);
    }

    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>The conversation id a response id carries (<c>resp_</c> + 24 hex of the conversation + 24 hex).</summary>
    public static string ConversationOf(string responseId) => "conv_" + responseId.Substring("resp_".Length, 24);

    public static double Median(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
