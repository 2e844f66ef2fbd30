using OrleansCodex.Api.Responses;
using OrleansCodex.Api.Streaming;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.Responses;

public sealed class ResponsesStreamWriterTests
{
    private static readonly StoredResponse Accepted = new()
    {
        Id = "resp_0123456789abcdef01234567aaaaaaaaaaaaaaaaaaaaaaaa",
        ConversationId = "conv_0123456789abcdef01234567",
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000),
        Model = "gpt-5.5",
        Status = ResponseStatus.InProgress,
        Instructions = "be brief",
        Metadata = new Dictionary<string, string> { ["k"] = "v" },
        Input = [InputMessage.User("hi")],
        ReasoningEffort = "low",
    };

    private static async Task<(List<SseFrame> Frames, TurnOutcome Outcome)> WriteAsync(params TurnEvent?[] events)
    {
        var stream = new MemoryStream();
        var writer = new ResponsesStreamWriter(new SseWriter(stream), Accepted);
        var outcome = await writer.WriteAsync(ToAsync(events), CancellationToken.None);
        return (Sse.Parse(stream), outcome);
    }

    private static async IAsyncEnumerable<TurnEvent?> ToAsync(IEnumerable<TurnEvent?> events)
    {
        foreach (var turnEvent in events)
        {
            await Task.Yield();
            yield return turnEvent;
        }
    }

    [Fact]
    public async Task WriteAsync_TextAnswer_EmitsEventsInOpenAiOrder()
    {
        var (frames, outcome) = await WriteAsync(
            TurnEvent.Session("s"), TurnEvent.Delta("Hel"), TurnEvent.Delta("lo"), TurnEvent.Done("Hello", new TokenUsage(10, 3, 5, 1)));

        Assert.Equal(TurnOutcome.Completed, outcome);
        Assert.Equal(
        [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.completed",
        ], frames.Select(f => f.Event));
        Assert.All(frames, f => Assert.Equal(f.Event, f.Json.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => (long)i), frames.Select(f => f.Json.GetProperty("sequence_number").GetInt64()));
        Assert.DoesNotContain(frames, f => f.Data == "[DONE]");
    }

    [Fact]
    public async Task WriteAsync_TextAnswer_CarriesExactShapes()
    {
        var (frames, _) = await WriteAsync(TurnEvent.Delta("Hi"), TurnEvent.Done("Hi", new TokenUsage(10, 3, 5, 1)));

        var created = frames[0].Json.GetProperty("response");
        Assert.Equal("in_progress", created.GetProperty("status").GetString());
        Assert.Equal(0, created.GetProperty("output").GetArrayLength());
        Assert.Equal(1_800_000_000, created.GetProperty("created_at").GetInt64());

        var delta = frames.Single(f => f.Event == "response.output_text.delta").Json;
        Assert.Equal("msg_0123456789abcdef01234567aaaaaaaaaaaaaaaaaaaaaaaa", delta.GetProperty("item_id").GetString());
        Assert.Equal(0, delta.GetProperty("output_index").GetInt32());
        Assert.Equal(0, delta.GetProperty("content_index").GetInt32());
        Assert.Equal("Hi", delta.GetProperty("delta").GetString());
        Assert.Equal(0, delta.GetProperty("logprobs").GetArrayLength());

        var completed = frames[^1].Json.GetProperty("response");
        Assert.Equal("resp_0123456789abcdef01234567aaaaaaaaaaaaaaaaaaaaaaaa", completed.GetProperty("id").GetString());
        Assert.Equal("response", completed.GetProperty("object").GetString());
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.True(completed.GetProperty("completed_at").GetInt64() > 0);
        Assert.Equal("Hi", completed.GetProperty("output_text").GetString());
        var item = Assert.Single(completed.GetProperty("output").EnumerateArray());
        Assert.Equal("message", item.GetProperty("type").GetString());
        Assert.Equal("assistant", item.GetProperty("role").GetString());
        var part = Assert.Single(item.GetProperty("content").EnumerateArray());
        Assert.Equal("output_text", part.GetProperty("type").GetString());
        Assert.Equal(0, part.GetProperty("annotations").GetArrayLength());
        Assert.Equal(0, part.GetProperty("logprobs").GetArrayLength());
        var usage = completed.GetProperty("usage");
        Assert.Equal(10, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(3, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.Equal(5, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(1, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt64());
        Assert.Equal(15, usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal("be brief", completed.GetProperty("instructions").GetString());
        Assert.Equal("v", completed.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("low", completed.GetProperty("reasoning").GetProperty("effort").GetString());
        Assert.Equal("text", completed.GetProperty("text").GetProperty("format").GetProperty("type").GetString());
        Assert.Equal("disabled", completed.GetProperty("truncation").GetString());
        Assert.Equal("auto", completed.GetProperty("tool_choice").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, completed.GetProperty("error").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, completed.GetProperty("previous_response_id").ValueKind);
    }

    [Fact]
    public async Task WriteAsync_CompletedWithoutDeltas_StreamsTheWholeTextOnce()
    {
        var (frames, _) = await WriteAsync(TurnEvent.Done("All at once", TokenUsage.Zero));

        Assert.Equal("All at once", Assert.Single(frames, f => f.Event == "response.output_text.delta").Json.GetProperty("delta").GetString());
        Assert.Equal("response.completed", frames[^1].Event);
    }

    [Fact]
    public async Task WriteAsync_FailureAfterText_EndsWithOneResponseFailed()
    {
        var (frames, outcome) = await WriteAsync(TurnEvent.Delta("par"), TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamError, "model crashed")));

        Assert.Equal(TurnErrorCodes.UpstreamError, outcome.ErrorCode);
        Assert.Equal("response.failed", frames[^1].Event);
        Assert.Single(frames, f => f.Event is "response.completed" or "response.failed" or "response.incomplete");
        var response = frames[^1].Json.GetProperty("response");
        Assert.Equal("failed", response.GetProperty("status").GetString());
        Assert.Equal("upstream_error", response.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("model crashed", response.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("par", response.GetProperty("output_text").GetString());
    }

    [Fact]
    public async Task WriteAsync_StreamEndsWithoutTerminal_EndsWithResponseFailed()
    {
        var (frames, outcome) = await WriteAsync(TurnEvent.Delta("x"));

        Assert.Equal("failed", outcome.Status);
        Assert.Equal("response.failed", frames[^1].Event);
        Assert.Equal("server_error", frames[^1].Json.GetProperty("response").GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task WriteAsync_GrainCallThrows_EndsWithResponseFailed()
    {
        var stream = new MemoryStream();
        var writer = new ResponsesStreamWriter(new SseWriter(stream), Accepted);

        var outcome = await writer.WriteAsync(Throwing(), CancellationToken.None);

        Assert.Equal("failed", outcome.Status);
        Assert.Equal("response.failed", Sse.Parse(stream)[^1].Event);

        static async IAsyncEnumerable<TurnEvent?> Throwing()
        {
            await Task.Yield();
            yield return TurnEvent.Delta("x");
            throw new InvalidOperationException("node went away");
        }
    }

    [Fact]
    public async Task WriteAsync_KeepAliveTick_WritesPingComment()
    {
        var (frames, _) = await WriteAsync(null, TurnEvent.Done("x", TokenUsage.Zero));

        Assert.Equal("ping", frames[2].Comment);
        Assert.Equal(Enumerable.Range(0, frames.Count - 1).Select(i => (long)i),
            frames.Where(f => f.Data is not null).Select(f => f.Json.GetProperty("sequence_number").GetInt64()));
    }
}
