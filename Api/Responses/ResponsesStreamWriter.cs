using System.Text;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Streaming;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>
/// Writes a turn as the Responses API's event stream: created → in_progress → output_item.added → content_part.added →
/// output_text.delta* → output_text.done → content_part.done → output_item.done → completed; or response.failed after the first
/// byte. Exactly one terminal event, strictly increasing sequence numbers, no <c>[DONE]</c>.
/// </summary>
public sealed class ResponsesStreamWriter(SseWriter sse, ResponseTemplate template, TimeProvider timeProvider) : TurnStreamWriter(sse)
{
    private const int OutputIndex = 0;
    private const int ContentIndex = 0;

    private readonly StringBuilder _text = new();
    private long _sequence;
    private bool _itemStarted;

    protected override async Task StartAsync(CancellationToken cancellationToken)
    {
        await LifecycleAsync("response.created", template.InProgress(), cancellationToken);
        await LifecycleAsync("response.in_progress", template.InProgress(), cancellationToken);
    }

    protected override async Task DeltaAsync(string delta, CancellationToken cancellationToken)
    {
        await StartItemAsync(cancellationToken);
        _text.Append(delta);
        await Sse.WriteEventAsync("response.output_text.delta",
            new OutputTextDeltaEvent("response.output_text.delta", _sequence++, template.OutputItemId, OutputIndex, ContentIndex, delta),
            OpenAiJsonContext.Default.OutputTextDeltaEvent, cancellationToken);
    }

    protected override async Task CompleteAsync(TurnEvent completed, CancellationToken cancellationToken)
    {
        if (_text.Length == 0 && completed.Text is { Length: > 0 } whole)
        {
            // A provider that reports only the final text still streams it as one delta.
            await DeltaAsync(whole, cancellationToken);
        }

        await StartItemAsync(cancellationToken);
        var text = completed.Text ?? _text.ToString();
        var itemId = template.OutputItemId;
        await Sse.WriteEventAsync("response.output_text.done",
            new OutputTextDoneEvent("response.output_text.done", _sequence++, itemId, OutputIndex, ContentIndex, text),
            OpenAiJsonContext.Default.OutputTextDoneEvent, cancellationToken);
        await Sse.WriteEventAsync("response.content_part.done",
            new ContentPartEvent("response.content_part.done", _sequence++, itemId, OutputIndex, ContentIndex, new OutputTextPart(text)),
            OpenAiJsonContext.Default.ContentPartEvent, cancellationToken);
        await Sse.WriteEventAsync("response.output_item.done",
            new OutputItemEvent("response.output_item.done", _sequence++, OutputIndex, ResponseMapper.Message(itemId, ResponseStatus.Completed, text)),
            OpenAiJsonContext.Default.OutputItemEvent, cancellationToken);
        await LifecycleAsync("response.completed", template.Completed(text, completed.Usage ?? TokenUsage.Zero, timeProvider.GetUtcNow()), cancellationToken);
    }

    protected override Task FailAsync(TurnError error, CancellationToken cancellationToken) =>
        LifecycleAsync("response.failed", template.Failed(error, _text.ToString(), _itemStarted), cancellationToken);

    private async Task StartItemAsync(CancellationToken cancellationToken)
    {
        if (_itemStarted)
        {
            return;
        }

        _itemStarted = true;
        var itemId = template.OutputItemId;
        await Sse.WriteEventAsync("response.output_item.added",
            new OutputItemEvent("response.output_item.added", _sequence++, OutputIndex, new OutputMessage(itemId, ResponseStatus.InProgress, [])),
            OpenAiJsonContext.Default.OutputItemEvent, cancellationToken);
        await Sse.WriteEventAsync("response.content_part.added",
            new ContentPartEvent("response.content_part.added", _sequence++, itemId, OutputIndex, ContentIndex, new OutputTextPart("")),
            OpenAiJsonContext.Default.ContentPartEvent, cancellationToken);
    }

    private Task LifecycleAsync(string type, ResponseObject response, CancellationToken cancellationToken) =>
        Sse.WriteEventAsync(type, new ResponseLifecycleEvent(type, _sequence++, response), OpenAiJsonContext.Default.ResponseLifecycleEvent, cancellationToken);
}
