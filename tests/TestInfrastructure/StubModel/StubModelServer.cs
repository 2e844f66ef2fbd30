using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Testing.StubModel;

/// <summary>
/// A deterministic model server on 127.0.0.1 that speaks just enough OpenAI Responses (for Codex) and Anthropic Messages (for
/// Claude Code) to drive the real CLIs in tests. Answers are <see cref="StubConversation.Answer"/>; usage is chars/4 of the
/// request body and of the answer. Model names containing one of the <c>stub-*</c> markers in <see cref="MagicModels"/> fail
/// or misbehave on purpose, so <c>claude-stub-slow</c> routes to Claude and still streams slowly. A Responses request with a
/// <c>json_schema</c> text format is answered with <see cref="StubJsonSchema.AnswerFor"/>; <see cref="StubImages"/> reads the images
/// a request carried.
/// </summary>
public sealed class StubModelServer : IAsyncDisposable
{
    /// <summary>The key the CLIs must present (bearer token or <c>x-api-key</c>); anything else gets a 401.</summary>
    public const string DefaultApiKey = "sk-stub-orleanscodex";

    /// <summary>A model the Codex catalogue knows, so Codex adds no "model metadata not found" warning.</summary>
    public const string CodexModel = "gpt-5.5";

    /// <summary>Any name is passed through verbatim by Claude Code; this one routes to Claude by <c>ModelRouting</c>.</summary>
    public const string ClaudeModel = "claude-stub";

    private static readonly string[] HeadersOfInterest =
    [
        "authorization", "x-api-key", "user-agent", "session-id", "thread-id", "x-claude-code-session-id", "anthropic-beta",
        "anthropic-version", "originator", "accept",
    ];

    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<StubRequest> _requests = new();
    private readonly string? _apiKey;
    private int _activeStreams;
    private int _activeRequests;
    private int _peakActiveRequests;
    private long _responseCounter;

    private StubModelServer(WebApplication app, string? apiKey)
    {
        _app = app;
        _apiKey = apiKey;
    }

    /// <summary>Magic model markers and what they do (for both APIs).</summary>
    public static class MagicModels
    {
        /// <summary>401: bad key.</summary>
        public const string Unauthorized = "stub-401";

        /// <summary>404: model not found.</summary>
        public const string NotFound = "stub-404";

        /// <summary>429 with <c>retry-after: 1</c>.</summary>
        public const string RateLimited = "stub-429";

        /// <summary>500.</summary>
        public const string ServerError = "stub-500";

        /// <summary>Streams <see cref="SlowWordCount"/> words, one every <see cref="SlowWordInterval"/>.</summary>
        public const string Slow = "stub-slow";

        /// <summary>Sends the response headers, then nothing until the client goes away.</summary>
        public const string Hang = "stub-hang";

        /// <summary>Streams three words, then aborts the connection. A non-streaming request is answered normally.</summary>
        public const string Drop = "stub-drop";

        /// <summary>Sends the response headers, stays silent for <see cref="PauseDuration"/>, then answers as the default model does.</summary>
        public const string Pause = "stub-pause";

        /// <summary>How long <see cref="Pause"/> is silent: longer than a cluster's call timeout in the tests that use it.</summary>
        public static readonly TimeSpan PauseDuration = TimeSpan.FromSeconds(6);

        public const int SlowWordCount = 100;

        /// <summary>The stub's default models and every magic marker, for Codex and as <c>claude-…</c> for Claude.</summary>
        public static IReadOnlyList<string> All => [CodexModel, ClaudeModel, .. Markers, .. Markers.Select(m => "claude-" + m)];

        private static readonly string[] Markers = [Unauthorized, NotFound, RateLimited, ServerError, Slow, Hang, Drop, Pause];

        /// <summary>
        /// Settings (as environment variables) that make a service serve the magic models besides the CLIs' catalogs, as an operator
        /// lists the models of a custom provider in <c>Models:Extra</c>.
        /// </summary>
        public static IEnumerable<KeyValuePair<string, string>> ServiceSettings() =>
            All.Distinct().Select((model, i) => new KeyValuePair<string, string>($"Models__Extra__{i}", model));

        public static readonly TimeSpan SlowWordInterval = TimeSpan.FromMilliseconds(300);
    }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;</c>: Claude's <c>ANTHROPIC_BASE_URL</c> (it appends <c>/v1/messages</c>).</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary><c>http://127.0.0.1:&lt;port&gt;/v1</c>: Codex's provider <c>base_url</c> (it appends <c>/responses</c>).</summary>
    public string OpenAiBaseUrl => BaseUri.ToString().TrimEnd('/') + "/v1";

    /// <summary>The key clients must present; null accepts any key.</summary>
    public string? ApiKey => _apiKey;

    /// <summary>Every request received so far, oldest first.</summary>
    public IReadOnlyList<StubRequest> Requests => _requests.ToArray();

    /// <summary>Streaming responses currently being written (a hung or slow stream counts until its client disconnects).</summary>
    public int ActiveStreams => Volatile.Read(ref _activeStreams);

    /// <summary>Model requests (<c>/v1/responses</c>, <c>/v1/messages</c>) being handled now, streamed or not, failing or not.</summary>
    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    /// <summary>
    /// The most model requests handled at the same time since the start or the last <see cref="ResetPeakActiveRequests"/>: 1 proves
    /// that no two requests overlapped (e.g. that one conversation's turns ran one after another).
    /// </summary>
    public int PeakActiveRequests => Volatile.Read(ref _peakActiveRequests);

    /// <summary>Restarts <see cref="PeakActiveRequests"/> from the requests in flight now.</summary>
    public void ResetPeakActiveRequests() => Volatile.Write(ref _peakActiveRequests, ActiveRequests);

    /// <summary>Starts a stub on a free port of 127.0.0.1.</summary>
    public static async Task<StubModelServer> StartAsync(string? apiKey = DefaultApiKey, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        var app = builder.Build();
        var server = new StubModelServer(app, apiKey);

        app.MapPost("/v1/responses", (HttpContext context) => server.CountedAsync(context, server.HandleResponsesAsync));
        app.MapPost("/v1/messages", (HttpContext context) => server.CountedAsync(context, server.HandleMessagesAsync));
        app.MapFallback((HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return context.Response.WriteAsync($"stub: no route for {context.Request.Method} {context.Request.Path}");
        });

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>Requests whose body's <c>model</c> equals <paramref name="model"/>.</summary>
    public IReadOnlyList<StubRequest> RequestsFor(string model) => _requests.Where(r => r.Model == model).ToArray();

    /// <summary>Waits until no stream is in flight (e.g. after a CLI was killed), or the timeout passes.</summary>
    public async Task<bool> WaitForNoActiveStreamsAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ActiveStreams > 0)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(25);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stopTimeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Connections that outlive the grace period are simply dropped.
        }

        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    /// <summary>Runs a model request's handler, counted in <see cref="ActiveRequests"/> and <see cref="PeakActiveRequests"/>.</summary>
    private async Task CountedAsync(HttpContext context, Func<HttpContext, Task> handler)
    {
        var active = Interlocked.Increment(ref _activeRequests);
        var peak = Volatile.Read(ref _peakActiveRequests);
        while (active > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakActiveRequests, active, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }

        try
        {
            await handler(context);
        }
        finally
        {
            Interlocked.Decrement(ref _activeRequests);
        }
    }

    private async Task HandleResponsesAsync(HttpContext context)
    {
        var (body, length) = await ReadBodyAsync(context.Request);
        var model = body.TryGetProperty("model", out var m) ? m.GetString() : null;
        var stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var conversation = StubConversation.FromResponsesRequest(body);
        var failure = FailureFor(model, context.Request);
        var answer = failure?.Message ?? (IsMagic(model, MagicModels.Slow) ? SlowAnswer() : StubJsonSchema.AnswerFor(body) ?? conversation.Answer);
        Record(StubApi.Responses, context.Request, model, stream, body, conversation, answer);

        if (failure is { } f)
        {
            await WriteOpenAiErrorAsync(context.Response, f, model);
            return;
        }

        var usage = Usage(length, answer);
        var responseId = $"resp_stub_{Interlocked.Increment(ref _responseCounter):D6}";
        var messageId = $"msg_stub_{_responseCounter:D6}";
        var completedItem = new JsonObject
        {
            ["id"] = messageId,
            ["type"] = "message",
            ["status"] = "completed",
            ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = answer, ["annotations"] = new JsonArray() }),
        };
        var usageJson = new JsonObject
        {
            ["input_tokens"] = usage.Input,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
            ["output_tokens"] = usage.Output,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
            ["total_tokens"] = usage.Input + usage.Output,
        };

        if (!stream)
        {
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = responseId,
                ["object"] = "response",
                ["status"] = "completed",
                ["model"] = model,
                ["output"] = new JsonArray(completedItem),
                ["usage"] = usageJson,
            });
            return;
        }

        using var streamScope = BeginStream(context);
        var token = streamScope.Token;
        var sequence = 0;
        Task Send(string type, JsonObject data)
        {
            data["type"] = type;
            data["sequence_number"] = sequence++;
            return WriteSseAsync(context.Response, type, data, token);
        }

        try
        {
            if (IsMagic(model, MagicModels.Hang))
            {
                await context.Response.Body.FlushAsync(token);
                await Task.Delay(Timeout.Infinite, token);
                return;
            }

            if (IsMagic(model, MagicModels.Pause))
            {
                await context.Response.Body.FlushAsync(token);
                await Task.Delay(MagicModels.PauseDuration, token);
            }

            await Send("response.created", new JsonObject
            {
                ["response"] = new JsonObject { ["id"] = responseId, ["object"] = "response", ["status"] = "in_progress", ["model"] = model, ["output"] = new JsonArray() },
            });
            await Send("response.output_item.added", new JsonObject
            {
                ["output_index"] = 0,
                ["item"] = new JsonObject { ["id"] = messageId, ["type"] = "message", ["status"] = "in_progress", ["role"] = "assistant", ["content"] = new JsonArray() },
            });

            var words = SplitWords(answer);
            for (var i = 0; i < words.Count; i++)
            {
                if (IsMagic(model, MagicModels.Drop) && i == 3)
                {
                    await DropAsync(context, token);
                    return;
                }

                await Send("response.output_text.delta", new JsonObject
                {
                    ["item_id"] = messageId, ["output_index"] = 0, ["content_index"] = 0, ["delta"] = words[i],
                });
                if (IsMagic(model, MagicModels.Slow))
                {
                    await Task.Delay(MagicModels.SlowWordInterval, token);
                }
            }

            await Send("response.output_item.done", new JsonObject { ["output_index"] = 0, ["item"] = completedItem });
            await Send("response.completed", new JsonObject
            {
                ["response"] = new JsonObject
                {
                    ["id"] = responseId,
                    ["object"] = "response",
                    ["status"] = "completed",
                    ["model"] = model,
                    ["output"] = new JsonArray(completedItem.DeepClone()),
                    ["usage"] = usageJson,
                },
            });
        }
        catch (OperationCanceledException)
        {
            // The client went away or the stub is stopping.
        }
        catch (IOException)
        {
        }
    }

    private async Task HandleMessagesAsync(HttpContext context)
    {
        var (body, length) = await ReadBodyAsync(context.Request);
        var model = body.TryGetProperty("model", out var m) ? m.GetString() : null;
        var stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var conversation = StubConversation.FromMessagesRequest(body);
        var failure = FailureFor(model, context.Request);
        var structuredOutput = failure is null ? StubStructuredOutput.CallFor(body) : null;
        var answer = failure?.Message ?? structuredOutput?.ToJsonString() ?? (IsMagic(model, MagicModels.Slow) ? SlowAnswer() : conversation.Answer);
        Record(StubApi.Messages, context.Request, model, stream, body, conversation, answer);

        if (failure is { } f)
        {
            await WriteAnthropicErrorAsync(context.Response, f);
            return;
        }

        var usage = Usage(length, answer);
        var messageId = $"msg_stub_{Interlocked.Increment(ref _responseCounter):D6}";
        JsonObject UsageJson(long output) => new()
        {
            ["input_tokens"] = usage.Input,
            ["cache_creation_input_tokens"] = 0,
            ["cache_read_input_tokens"] = 0,
            ["output_tokens"] = output,
        };

        if (structuredOutput is not null)
        {
            await WriteStructuredOutputCallAsync(context, stream, model, messageId, structuredOutput, UsageJson(usage.Output));
            return;
        }

        if (!stream)
        {
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = messageId,
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = model,
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = answer }),
                ["stop_reason"] = "end_turn",
                ["stop_sequence"] = null,
                ["usage"] = UsageJson(usage.Output),
            });
            return;
        }

        using var streamScope = BeginStream(context);
        var token = streamScope.Token;
        var send = AnthropicSender(context, token);

        try
        {
            if (IsMagic(model, MagicModels.Hang))
            {
                await context.Response.Body.FlushAsync(token);
                await Task.Delay(Timeout.Infinite, token);
                return;
            }

            if (IsMagic(model, MagicModels.Pause))
            {
                await context.Response.Body.FlushAsync(token);
                await Task.Delay(MagicModels.PauseDuration, token);
            }

            await send("message_start", new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["id"] = messageId,
                    ["type"] = "message",
                    ["role"] = "assistant",
                    ["model"] = model,
                    ["content"] = new JsonArray(),
                    ["stop_reason"] = null,
                    ["stop_sequence"] = null,
                    ["usage"] = UsageJson(1),
                },
            });
            await send("content_block_start", new JsonObject { ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });

            var words = SplitWords(answer);
            for (var i = 0; i < words.Count; i++)
            {
                if (IsMagic(model, MagicModels.Drop) && i == 3)
                {
                    await DropAsync(context, token);
                    return;
                }

                await send("content_block_delta", new JsonObject
                {
                    ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = words[i] },
                });
                if (IsMagic(model, MagicModels.Slow))
                {
                    await Task.Delay(MagicModels.SlowWordInterval, token);
                }
            }

            await send("content_block_stop", new JsonObject { ["index"] = 0 });
            await send("message_delta", new JsonObject
            {
                ["delta"] = new JsonObject { ["stop_reason"] = "end_turn", ["stop_sequence"] = null },
                ["usage"] = UsageJson(usage.Output),
            });
            await send("message_stop", new JsonObject());
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Answers with a call of Claude Code's <c>StructuredOutput</c> tool (<c>--json-schema</c>), streamed as an <c>input_json_delta</c> or whole.</summary>
    private async Task WriteStructuredOutputCallAsync(HttpContext context, bool stream, string? model, string messageId, JsonNode input, JsonObject usage)
    {
        var toolUse = new JsonObject { ["type"] = "tool_use", ["id"] = $"toolu_{messageId}", ["name"] = StubStructuredOutput.ToolName };
        JsonObject Message(JsonArray content, string? stopReason) => new()
        {
            ["id"] = messageId, ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = content,
            ["stop_reason"] = stopReason, ["stop_sequence"] = null, ["usage"] = usage.DeepClone(),
        };

        if (!stream)
        {
            var whole = (JsonObject)toolUse.DeepClone();
            whole["input"] = input.DeepClone();
            await context.Response.WriteAsJsonAsync(Message(new JsonArray(whole), "tool_use"));
            return;
        }

        using var streamScope = BeginStream(context);
        var token = streamScope.Token;
        var send = AnthropicSender(context, token);

        try
        {
            await send("message_start", new JsonObject { ["message"] = Message([], null) });
            var start = (JsonObject)toolUse.DeepClone();
            start["input"] = new JsonObject();
            await send("content_block_start", new JsonObject { ["index"] = 0, ["content_block"] = start });
            await send("content_block_delta", new JsonObject
            {
                ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = input.ToJsonString() },
            });
            await send("content_block_stop", new JsonObject { ["index"] = 0 });
            await send("message_delta", new JsonObject
            {
                ["delta"] = new JsonObject { ["stop_reason"] = "tool_use", ["stop_sequence"] = null }, ["usage"] = usage.DeepClone(),
            });
            await send("message_stop", new JsonObject());
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>
    /// Aborts the connection (TCP reset) once the client has had time to read what was sent: a reset that overtakes unread data
    /// makes the client see a failed connection rather than a stream broken mid-way, and Claude only falls back to a
    /// non-streaming call for the latter.
    /// </summary>
    private static async Task DropAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
        context.Abort();
    }

    private StreamScope BeginStream(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        Interlocked.Increment(ref _activeStreams);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        return new StreamScope(linked, () => Interlocked.Decrement(ref _activeStreams));
    }

    /// <summary>Writes Anthropic SSE events: the event's type is both its name and its data's <c>type</c>.</summary>
    private static Func<string, JsonObject, Task> AnthropicSender(HttpContext context, CancellationToken cancellationToken) => (type, data) =>
    {
        data["type"] = type;
        return WriteSseAsync(context.Response, type, data, cancellationToken);
    };

    private static async Task WriteSseAsync(HttpResponse response, string type, JsonObject data, CancellationToken cancellationToken)
    {
        var payload = $"event: {type}\ndata: {data.ToJsonString()}\n\n";
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(payload), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private StubFailure? FailureFor(string? model, HttpRequest request)
    {
        if (_apiKey is not null)
        {
            var presented = request.Headers["x-api-key"].FirstOrDefault()
                ?? request.Headers.Authorization.FirstOrDefault()?.Replace("Bearer ", "", StringComparison.Ordinal);
            if (presented != _apiKey)
            {
                return new StubFailure(401, "authentication_error", "invalid_api_key", $"Incorrect API key provided: {Redact(presented)}.");
            }
        }

        return model switch
        {
            _ when IsMagic(model, MagicModels.Unauthorized) => new StubFailure(401, "authentication_error", "invalid_api_key", "Incorrect API key provided: stub-401."),
            _ when IsMagic(model, MagicModels.NotFound) => new StubFailure(404, "not_found_error", "model_not_found", $"The model `{model}` does not exist or you do not have access to it."),
            _ when IsMagic(model, MagicModels.RateLimited) => new StubFailure(429, "rate_limit_error", "rate_limit_exceeded", "stub: rate limited"),
            _ when IsMagic(model, MagicModels.ServerError) => new StubFailure(500, "api_error", "server_error", "stub: internal server error"),
            _ => null,
        };
    }

    private static Task WriteOpenAiErrorAsync(HttpResponse response, StubFailure failure, string? model)
    {
        response.StatusCode = failure.Status;
        if (failure.Status == 429)
        {
            response.Headers.RetryAfter = "1";
        }

        var type = failure.Status switch { 401 => "invalid_request_error", 404 => "invalid_request_error", 429 => "rate_limit_error", _ => "server_error" };
        return response.WriteAsJsonAsync(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = failure.Message, ["type"] = type, ["param"] = null, ["code"] = failure.OpenAiCode },
        });
    }

    private static Task WriteAnthropicErrorAsync(HttpResponse response, StubFailure failure)
    {
        response.StatusCode = failure.Status;
        if (failure.Status == 429)
        {
            response.Headers.RetryAfter = "1";
        }

        return response.WriteAsJsonAsync(new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = failure.AnthropicType, ["message"] = failure.Message },
        });
    }

    private void Record(StubApi api, HttpRequest request, string? model, bool stream, JsonElement body, StubConversation conversation, string answer)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in HeadersOfInterest)
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                headers[name] = value.ToString();
            }
        }

        _requests.Enqueue(new StubRequest(api, request.Path, request.QueryString.Value ?? "", model, stream, headers, body, conversation, answer, DateTimeOffset.UtcNow));
    }

    private static async Task<(JsonElement Body, int Length)> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        try
        {
            using var document = JsonDocument.Parse(text);
            return (document.RootElement.Clone(), text.Length);
        }
        catch (JsonException)
        {
            return (JsonDocument.Parse("{}").RootElement.Clone(), text.Length);
        }
    }

    private static bool IsMagic(string? model, string marker) => model?.Contains(marker, StringComparison.OrdinalIgnoreCase) == true;

    private static string SlowAnswer() => string.Join(' ', Enumerable.Range(0, MagicModels.SlowWordCount).Select(i => $"slow{i}"));

    /// <summary>Splits into words keeping the separators, so the deltas concatenate back to the answer.</summary>
    private static List<string> SplitWords(string answer)
    {
        var words = new List<string>();
        var start = 0;
        for (var i = 0; i < answer.Length; i++)
        {
            if (answer[i] == ' ')
            {
                words.Add(answer[start..(i + 1)]);
                start = i + 1;
            }
        }

        if (start < answer.Length)
        {
            words.Add(answer[start..]);
        }

        return words;
    }

    private static (long Input, long Output) Usage(int requestChars, string answer) =>
        ((requestChars + 3) / 4, Math.Max(1, (answer.Length + 3) / 4));

    private static string Redact(string? key) => string.IsNullOrEmpty(key) ? "(none)" : key.Length <= 6 ? "***" : key[..3] + "***" + key[^2..];

    private sealed record StubFailure(int Status, string AnthropicType, string OpenAiCode, string Message);

    private sealed class StreamScope(CancellationTokenSource source, Action onDispose) : IDisposable
    {
        public CancellationToken Token => source.Token;

        public void Dispose()
        {
            source.Dispose();
            onDispose();
        }
    }
}
