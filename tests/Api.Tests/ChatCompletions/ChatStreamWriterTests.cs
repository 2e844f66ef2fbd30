using OrleansCodex.Api.ChatCompletions;
using OrleansCodex.Api.Streaming;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.ChatCompletions;

public sealed class ChatStreamWriterTests
{
    private static async Task<List<SseFrame>> WriteAsync(bool includeUsage, params TurnEvent?[] events)
    {
        var stream = new MemoryStream();
        var writer = new ChatStreamWriter(new SseWriter(stream), new ChatCompletionTemplate("chatcmpl-1", 1_800_000_000, "gpt-5.5", includeUsage), 30);
        await writer.WriteAsync(ToAsync(events), CancellationToken.None);
        return Sse.Parse(stream);
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
    public async Task WriteAsync_TextAnswer_RoleThenContentThenStopThenDone()
    {
        var frames = await WriteAsync(false, TurnEvent.Session("s"), TurnEvent.Delta("Hel"), TurnEvent.Delta("lo"), TurnEvent.Done("Hello", FakeConversations.Usage));

        Assert.Equal("[DONE]", frames[^1].Data);
        Assert.All(frames, f => Assert.Null(f.Event));
        var chunks = frames[..^1].Select(f => f.Json).ToList();
        Assert.Equal(4, chunks.Count);
        Assert.All(chunks, c =>
        {
            Assert.Equal("chatcmpl-1", c.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal(1_800_000_000, c.GetProperty("created").GetInt64());
            Assert.Equal("gpt-5.5", c.GetProperty("model").GetString());
            Assert.False(c.TryGetProperty("usage", out _));
            var choice = Assert.Single(c.GetProperty("choices").EnumerateArray());
            Assert.Equal(0, choice.GetProperty("index").GetInt32());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        });
        var first = chunks[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        Assert.Equal("", first.GetProperty("content").GetString());
        Assert.Equal("Hel", chunks[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.False(chunks[1].GetProperty("choices")[0].GetProperty("delta").TryGetProperty("role", out _));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, chunks[1].GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
        var last = chunks[3].GetProperty("choices")[0];
        Assert.Equal("{}", last.GetProperty("delta").GetRawText());
        Assert.Equal("stop", last.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task WriteAsync_IncludeUsage_AddsUsageChunkWithEmptyChoicesAndNullUsageElsewhere()
    {
        var frames = await WriteAsync(true, TurnEvent.Delta("Hi"), TurnEvent.Done("Hi", FakeConversations.Usage));

        var chunks = frames[..^1].Select(f => f.Json).ToList();
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(12, usageChunk.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(7, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.Equal(19, usageChunk.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.All(chunks[..^1], c => Assert.Equal(System.Text.Json.JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        Assert.Equal("[DONE]", frames[^1].Data);
    }

    [Fact]
    public async Task WriteAsync_WithoutIncludeUsage_NeverSendsEmptyChoices()
    {
        var frames = await WriteAsync(false, TurnEvent.Done("Hi", FakeConversations.Usage));

        Assert.All(frames[..^1], f => Assert.Equal(1, f.Json.GetProperty("choices").GetArrayLength()));
    }

    [Fact]
    public async Task WriteAsync_FailureMidStream_WritesErrorObjectThenDone()
    {
        var frames = await WriteAsync(false, TurnEvent.Delta("par"), TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamRateLimited, "slow down")));

        Assert.Equal("[DONE]", frames[^1].Data);
        var error = frames[^2].Json.GetProperty("error");
        Assert.Equal("slow down", error.GetProperty("message").GetString());
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.True(error.TryGetProperty("param", out _));
        Assert.DoesNotContain(frames, f => f.Data is not null && f.Data != "[DONE]" && f.Json.TryGetProperty("choices", out var c)
            && c.GetArrayLength() > 0 && c[0].GetProperty("finish_reason").ValueKind != System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task WriteAsync_KeepAliveTick_WritesPingComment()
    {
        var frames = await WriteAsync(false, null, TurnEvent.Done("x", TokenUsage.Zero));

        Assert.Equal("ping", frames[1].Comment);
    }
}
