using System.Text;
using System.Text.Json;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// <c>system/init</c> → session; <c>text_delta</c> stream events → deltas (text blocks separated by a blank line); the
/// <c>result</c> decides. The completed text is every text block of the turn's assistant messages joined by a blank line
/// (<c>result.result</c> holds only the last block). When Claude fell back to a non-streaming call (after a broken stream)
/// no deltas arrived, and the missing text is sent as one final delta. With an output schema (<c>--json-schema</c>) the answer is
/// the JSON of <c>result.structured_output</c> (Claude's <c>StructuredOutput</c> tool call), sent as one delta: the model's text
/// around that tool call is not the answer.
/// </summary>
internal sealed class ClaudeTurnParser(CliTurn turn) : ICliTurnParser
{
    private readonly StringBuilder _streamed = new();
    private readonly List<string> _blocks = [];
    private string? _sessionId;
    private bool _blockStarted;
    private JsonElement? _result;

    /// <summary>True once the <c>result</c> line was read: the turn is over (in a persistent process, the process is not).</summary>
    public bool HasResult => _result is not null;

    public IEnumerable<TurnEvent> OnEvent(JsonElement line)
    {
        switch (Str(line, "type"))
        {
            case "system" when Str(line, "subtype") == "init" && _sessionId is null && Str(line, "session_id") is { } sessionId:
                _sessionId = sessionId;
                yield return TurnEvent.Session(sessionId);
                break;
            case "stream_event" when line.TryGetProperty("event", out var streamEvent):
                var eventType = Str(streamEvent, "type");
                if (eventType == "content_block_start" && streamEvent.TryGetProperty("content_block", out var block) && Str(block, "type") == "text")
                {
                    _blockStarted = true;
                }
                else if (turn.OutputSchema is null && eventType == "content_block_delta" && streamEvent.TryGetProperty("delta", out var delta)
                    && Str(delta, "type") == "text_delta" && Str(delta, "text") is { Length: > 0 } text)
                {
                    if (_blockStarted && _streamed.Length > 0)
                    {
                        text = "\n\n" + text;
                    }

                    _blockStarted = false;
                    _streamed.Append(text);
                    yield return TurnEvent.Delta(text);
                }

                break;
            case "assistant" when line.TryGetProperty("message", out var message) && Str(message, "model") != "<synthetic>":
                if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in content.EnumerateArray())
                    {
                        if (Str(part, "type") == "text" && Str(part, "text") is { Length: > 0 } partText)
                        {
                            _blocks.Add(partText);
                        }
                    }
                }

                break;
            case "result":
                _result = line.Clone();
                break;
        }
    }

    public IEnumerable<TurnEvent> Finish(int exitCode, string stderrTail)
    {
        if (_result is not { } result)
        {
            if (turn.ResumeSessionId is not null && stderrTail.Contains("No conversation found", StringComparison.Ordinal))
            {
                yield return TurnEvent.Fail(CliErrors.SessionNotFound(CliProvider.Claude, turn.ResumeSessionId, turn.WorkingDirectory, CliErrors.MostRelevantLine(stderrTail)));
                yield break;
            }

            var said = CliErrors.MostRelevantLine(stderrTail);
            var error = CliErrors.Claude(null, said.Length == 0 ? "no output" : said);
            yield return TurnEvent.Fail(error.Code == TurnErrorCodes.UpstreamError
                ? error with { Message = $"Claude Code exited with code {exitCode} without a result: {(said.Length == 0 ? "no output" : said)}" }
                : error);
            yield break;
        }

        var isError = result.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True;
        if (isError)
        {
            var message = Str(result, "result") ?? ErrorsOf(result) ?? Str(result, "subtype") ?? "error";
            if (turn.ResumeSessionId is not null && message.Contains("No conversation found", StringComparison.Ordinal))
            {
                yield return TurnEvent.Fail(CliErrors.SessionNotFound(CliProvider.Claude, turn.ResumeSessionId, turn.WorkingDirectory, message));
                yield break;
            }

            int? status = result.TryGetProperty("api_error_status", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null;
            yield return TurnEvent.Fail(CliErrors.Claude(status, message));
            yield break;
        }

        var text = turn.OutputSchema is not null ? StructuredOutput(result)
            : _blocks.Count > 0 ? string.Join("\n\n", _blocks) : _streamed.Length > 0 ? _streamed.ToString() : Str(result, "result") ?? "";
        var streamed = _streamed.ToString();
        if (text.Length > streamed.Length && text.StartsWith(streamed, StringComparison.Ordinal))
        {
            yield return TurnEvent.Delta(text[streamed.Length..]);
        }

        yield return TurnEvent.Done(text, Usage(result));
    }

    /// <summary>OpenAI counts cached input inside the input tokens, Anthropic does not: input = uncached + cache writes + cache reads.</summary>
    private static TokenUsage Usage(JsonElement result)
    {
        if (!result.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return TokenUsage.Zero;
        }

        var cacheRead = Long(usage, "cache_read_input_tokens");
        var input = Long(usage, "input_tokens") + Long(usage, "cache_creation_input_tokens") + cacheRead;
        return new TokenUsage(input, cacheRead, Long(usage, "output_tokens"), 0);
    }

    /// <summary>The JSON Claude's <c>StructuredOutput</c> tool was called with, else the result text (a model that never called it).</summary>
    private static string StructuredOutput(JsonElement result) =>
        result.TryGetProperty("structured_output", out var output) && output.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? output.GetRawText()
            : Str(result, "result") ?? "";

    private static string? ErrorsOf(JsonElement result) =>
        result.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
            ? string.Join("; ", errors.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : x.ToString()))
            : null;

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
}
