using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Streaming;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.ChatCompletions;

/// <summary>The identity every chunk of one completion repeats.</summary>
public sealed record ChatCompletionTemplate(string Id, long Created, string Model, bool IncludeUsage)
{
    public ChatCompletion Completed(string text, TokenUsage usage) => new(Id, Created, Model, [new ChatChoice(0, new ChatMessage(text), "stop")], ChatMapper.Usage(usage));
}

public static class ChatMapper
{
    public static ChatUsage Usage(TokenUsage usage) => new(
        usage.InputTokens, usage.OutputTokens, usage.TotalTokens, new PromptTokensDetails(usage.CachedInputTokens), new CompletionTokensDetails(usage.ReasoningTokens));
}

/// <summary>
/// Writes a turn as Chat Completions chunks: a role delta, content deltas, a <c>finish_reason:"stop"</c> chunk with an empty delta,
/// the usage chunk (only with <c>include_usage</c>), then <c>[DONE]</c>. A failure after the first byte is an in-stream error object.
/// </summary>
public sealed class ChatStreamWriter(SseWriter sse, ChatCompletionTemplate template, int retryAfterSeconds) : TurnStreamWriter(sse)
{
    private bool _anyText;

    protected override Task StartAsync(CancellationToken cancellationToken) =>
        ChunkAsync(new ChatDelta { Role = "assistant", Content = "" }, null, cancellationToken);

    protected override Task DeltaAsync(string delta, CancellationToken cancellationToken)
    {
        _anyText = true;
        return ChunkAsync(new ChatDelta { Content = delta }, null, cancellationToken);
    }

    protected override async Task CompleteAsync(TurnEvent completed, CancellationToken cancellationToken)
    {
        if (!_anyText && completed.Text is { Length: > 0 } whole)
        {
            await ChunkAsync(new ChatDelta { Content = whole }, null, cancellationToken);
        }

        await ChunkAsync(ChatDelta.Empty, "stop", cancellationToken);
        if (template.IncludeUsage)
        {
            var usageChunk = new ChatCompletionUsageChunk(template.Id, template.Created, template.Model, [], ChatMapper.Usage(completed.Usage ?? TokenUsage.Zero));
            await Sse.WriteDataAsync(usageChunk, OpenAiJsonContext.Default.ChatCompletionUsageChunk, cancellationToken);
        }

        await Sse.WriteDoneAsync(cancellationToken);
    }

    protected override async Task FailAsync(TurnError error, StoredResponse? response, CancellationToken cancellationToken)
    {
        var envelope = new OpenAiErrorEnvelope(OpenAiErrors.FromTurnError(error, retryAfterSeconds).ToBody());
        await Sse.WriteDataAsync(envelope, OpenAiJsonContext.Default.OpenAiErrorEnvelope, cancellationToken);
        await Sse.WriteDoneAsync(cancellationToken);
    }

    private Task ChunkAsync(ChatDelta delta, string? finishReason, CancellationToken cancellationToken)
    {
        ChatChunkChoice[] choices = [new ChatChunkChoice(0, delta, finishReason)];
        return template.IncludeUsage
            ? Sse.WriteDataAsync(new ChatCompletionUsageChunk(template.Id, template.Created, template.Model, choices, null), OpenAiJsonContext.Default.ChatCompletionUsageChunk, cancellationToken)
            : Sse.WriteDataAsync(new ChatCompletionChunk(template.Id, template.Created, template.Model, choices), OpenAiJsonContext.Default.ChatCompletionChunk, cancellationToken);
    }
}
