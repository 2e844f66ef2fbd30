using System.Text;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Streaming;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>
/// Writes a turn as the Responses API's event stream: created → in_progress → output_item.added → content_part.added →
/// output_text.delta* → output_text.done → content_part.done → output_item.done → completed; or response.failed after the first
/// byte. Exactly one terminal event, strictly increasing sequence numbers, no <c>[DONE]</c>. Every response object in it is the
/// conversation's own projection (<see cref="ResponseMapper.FromStored"/>), as GET shows it.
/// </summary>
/// <param name="accepted">The response as the conversation accepted it.</param>
public sealed class ResponsesStreamWriter(SseWriter sse, StoredResponse accepted) : TurnStreamWriter(sse)
{
    private const int OutputIndex = 0;
    private const int ContentIndex = 0;

    private readonly StringBuilder _text = new();
    private readonly string _itemId = ResponseMapper.OutputItemId(accepted.Id);
    private long _sequence;
    private bool _itemStarted;

    protected override async Task StartAsync(CancellationToken cancellationToken)
    {
        var inProgress = ResponseMapper.FromStored(accepted with { Status = ResponseStatus.InProgress });
        await LifecycleAsync("response.created", ResponseMapper.FromStored(accepted), cancellationToken);
        await LifecycleAsync("response.in_progress", inProgress, cancellationToken);
    }

    protected override async Task DeltaAsync(string delta, CancellationToken cancellationToken)
    {
        await StartItemAsync(cancellationToken);
        _text.Append(delta);
        await Sse.WriteEventAsync("response.output_text.delta",
            new OutputTextDeltaEvent("response.output_text.delta", _sequence++, _itemId, OutputIndex, ContentIndex, delta),
            OpenAiJsonContext.Default.OutputTextDeltaEvent, cancellationToken);
    }

    protected override async Task CompleteAsync(TurnEvent completed, CancellationToken cancellationToken)
    {
        var response = completed.Response ?? accepted with
        {
            Status = ResponseStatus.Completed, OutputText = completed.Text ?? _text.ToString(), Usage = completed.Usage, CompletedAt = DateTimeOffset.UtcNow,
        };
        if (_text.Length == 0 && response.OutputText.Length > 0)
        {
            // An answer that arrived whole still streams as one delta.
            await DeltaAsync(response.OutputText, cancellationToken);
        }

        await StartItemAsync(cancellationToken);
        var text = response.OutputText;
        await Sse.WriteEventAsync("response.output_text.done",
            new OutputTextDoneEvent("response.output_text.done", _sequence++, _itemId, OutputIndex, ContentIndex, text),
            OpenAiJsonContext.Default.OutputTextDoneEvent, cancellationToken);
        await Sse.WriteEventAsync("response.content_part.done",
            new ContentPartEvent("response.content_part.done", _sequence++, _itemId, OutputIndex, ContentIndex, new OutputTextPart(text)),
            OpenAiJsonContext.Default.ContentPartEvent, cancellationToken);
        await Sse.WriteEventAsync("response.output_item.done",
            new OutputItemEvent("response.output_item.done", _sequence++, OutputIndex, ResponseMapper.Message(_itemId, ResponseStatus.Completed, text)),
            OpenAiJsonContext.Default.OutputItemEvent, cancellationToken);
        await LifecycleAsync("response.completed", ResponseMapper.FromStored(response), cancellationToken);
    }

    protected override Task FailAsync(TurnError error, StoredResponse? response, CancellationToken cancellationToken)
    {
        // The conversation's own final state when it sent one; else (its node failed) what this stream saw.
        var failed = response ?? accepted with
        {
            Status = error.Code == TurnErrorCodes.Cancelled ? ResponseStatus.Cancelled : ResponseStatus.Failed, OutputText = _text.ToString(), Error = error,
        };
        return LifecycleAsync("response.failed", ResponseMapper.FromStored(failed), cancellationToken);
    }

    private async Task StartItemAsync(CancellationToken cancellationToken)
    {
        if (_itemStarted)
        {
            return;
        }

        _itemStarted = true;
        await Sse.WriteEventAsync("response.output_item.added",
            new OutputItemEvent("response.output_item.added", _sequence++, OutputIndex, new OutputMessage(_itemId, ResponseStatus.InProgress, [])),
            OpenAiJsonContext.Default.OutputItemEvent, cancellationToken);
        await Sse.WriteEventAsync("response.content_part.added",
            new ContentPartEvent("response.content_part.added", _sequence++, _itemId, OutputIndex, ContentIndex, new OutputTextPart("")),
            OpenAiJsonContext.Default.ContentPartEvent, cancellationToken);
    }

    private Task LifecycleAsync(string type, ResponseObject response, CancellationToken cancellationToken) =>
        Sse.WriteEventAsync(type, new ResponseLifecycleEvent(type, _sequence++, response), OpenAiJsonContext.Default.ResponseLifecycleEvent, cancellationToken);
}
