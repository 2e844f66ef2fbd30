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
public sealed class ChatStreamWriter(SseWriter sse, ChatCompletionTemplate template, int retryAfterSeconds)
{
    private bool _anyText;

    public async Task<TurnOutcome> WriteAsync(IAsyncEnumerable<TurnEvent?> events, CancellationToken cancellationToken)
    {
        try
        {
            await ChunkAsync(new ChatDelta { Role = "assistant", Content = "" }, null, cancellationToken);
            await foreach (var turnEvent in events.WithCancellation(cancellationToken))
            {
                switch (turnEvent)
                {
                    case null:
                        await sse.WritePingAsync(cancellationToken);
                        break;
                    case { Kind: TurnEventKind.TextDelta, Text: { Length: > 0 } delta }:
                        _anyText = true;
                        await ChunkAsync(new ChatDelta { Content = delta }, null, cancellationToken);
                        break;
                    case { Kind: TurnEventKind.Completed }:
                        await CompleteAsync(turnEvent, cancellationToken);
                        return TurnOutcome.Completed;
                    case { Kind: TurnEventKind.Failed }:
                        var error = turnEvent.Error ?? TurnOutcome.Broken;
                        await FailAsync(error, cancellationToken);
                        return TurnOutcome.Failed(error);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TurnOutcome.ClientGone;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await FailAsync(TurnOutcome.Broken, cancellationToken);
            return TurnOutcome.Failed(TurnOutcome.Broken);
        }

        await FailAsync(TurnOutcome.Broken, cancellationToken);
        return TurnOutcome.Failed(TurnOutcome.Broken);
    }

    private async Task CompleteAsync(TurnEvent completed, CancellationToken cancellationToken)
    {
        if (!_anyText && completed.Text is { Length: > 0 } whole)
        {
            await ChunkAsync(new ChatDelta { Content = whole }, null, cancellationToken);
        }

        await ChunkAsync(ChatDelta.Empty, "stop", cancellationToken);
        if (template.IncludeUsage)
        {
            var usageChunk = new ChatCompletionUsageChunk(template.Id, template.Created, template.Model, [], ChatMapper.Usage(completed.Usage ?? TokenUsage.Zero));
            await sse.WriteDataAsync(usageChunk, OpenAiJsonContext.Default.ChatCompletionUsageChunk, cancellationToken);
        }

        await sse.WriteDoneAsync(cancellationToken);
    }

    private async Task FailAsync(TurnError error, CancellationToken cancellationToken)
    {
        var envelope = new OpenAiErrorEnvelope(OpenAiErrors.FromTurnError(error, retryAfterSeconds).ToBody());
        await sse.WriteDataAsync(envelope, OpenAiJsonContext.Default.OpenAiErrorEnvelope, cancellationToken);
        await sse.WriteDoneAsync(cancellationToken);
    }

    private Task ChunkAsync(ChatDelta delta, string? finishReason, CancellationToken cancellationToken)
    {
        ChatChunkChoice[] choices = [new ChatChunkChoice(0, delta, finishReason)];
        return template.IncludeUsage
            ? sse.WriteDataAsync(new ChatCompletionUsageChunk(template.Id, template.Created, template.Model, choices, null), OpenAiJsonContext.Default.ChatCompletionUsageChunk, cancellationToken)
            : sse.WriteDataAsync(new ChatCompletionChunk(template.Id, template.Created, template.Model, choices), OpenAiJsonContext.Default.ChatCompletionChunk, cancellationToken);
    }
}
