using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// Runs a turn with <c>claude -p --output-format stream-json --verbose --include-partial-messages</c> (one process per turn).
/// Text streams token by token from the <c>stream_event</c> deltas. The outcome is decided by the final <c>result</c> object,
/// never by the exit code (Claude exits 0 on some failures and non-zero on some successes).
/// </summary>
public sealed class ClaudePrintRunner(IOptionsMonitor<CliOptions> options, ILogger<ClaudePrintRunner> logger, TimeProvider timeProvider)
    : CliRunnerBase(options, logger, timeProvider)
{
    public override CliProvider Provider => CliProvider.Claude;

    /// <summary>
    /// Values are attached with <c>=</c> (<c>--model=M</c>) so that a value starting with a dash (instructions) is never read as a flag.
    /// With both a session to resume and a new id, the resumed session is forked into the new one (<c>--fork-session</c>).
    /// </summary>
    internal override IReadOnlyList<string> BuildArguments(CliTurn turn, CliOptions options)
    {
        var arguments = new List<string>
        {
            "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
            $"--model={turn.Model}",
        };
        if (turn.ResumeSessionId is not null)
        {
            arguments.Add($"--resume={turn.ResumeSessionId}");
            if (turn.NewSessionId is not null)
            {
                arguments.AddRange(["--fork-session", $"--session-id={turn.NewSessionId}"]);
            }
        }
        else if (turn.NewSessionId is not null)
        {
            arguments.Add($"--session-id={turn.NewSessionId}");
        }

        if (turn.Instructions is not null)
        {
            arguments.Add($"--append-system-prompt={turn.Instructions}");
        }

        if (turn.ReasoningEffort is not null)
        {
            arguments.Add($"--effort={turn.ReasoningEffort}");
        }

        if (turn.Ephemeral)
        {
            arguments.Add("--no-session-persistence");
        }

        return arguments;
    }

    internal override IReadOnlyDictionary<string, string?> BuildEnvironment(CliOptions options) =>
        EnvironmentWith(options,
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("CLAUDE_CODE_MAX_RETRIES", options.ClaudeMaxRetries.ToString(CultureInfo.InvariantCulture)));

    private protected override string? ConfiguredPath(CliOptions options) => options.ClaudePath;

    private protected override ICliTurnParser CreateParser(CliTurn turn) => new Parser(turn);

    /// <summary><c>claude auth status</c> prints <c>{"loggedIn":true|false,…}</c>; it works offline and counts ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN.</summary>
    private protected override async Task<string?> CheckLoginAsync(string executablePath, IReadOnlyDictionary<string, string?> environment, CliOptions options, CancellationToken cancellationToken)
    {
        var probe = await ProbeAsync(executablePath, ["auth", "status"], environment, options, cancellationToken);
        bool? loggedIn = null;
        try
        {
            using var document = JsonDocument.Parse(probe.Stdout);
            if (document.RootElement.TryGetProperty("loggedIn", out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                loggedIn = value.GetBoolean();
            }
        }
        catch (JsonException)
        {
        }

        return loggedIn switch
        {
            true => null,
            false => "Claude Code is not logged in. Run `claude` on this node and log in (or set ANTHROPIC_API_KEY).",
            null => $"`claude auth status` gave no answer ({(probe.TimedOut ? "timed out" : CliErrors.MostRelevantLine(probe.Stderr + "\n" + probe.Stdout))}). Run `claude` on this node and log in (or set ANTHROPIC_API_KEY).",
        };
    }

    /// <summary>
    /// <c>system/init</c> → session; <c>text_delta</c> stream events → deltas (text blocks separated by a blank line); the
    /// <c>result</c> decides. The completed text is every text block of the turn's assistant messages joined by a blank line
    /// (<c>result.result</c> holds only the last block). When Claude fell back to a non-streaming call (after a broken stream)
    /// no deltas arrived, and the missing text is sent as one final delta.
    /// </summary>
    private sealed class Parser(CliTurn turn) : ICliTurnParser
    {
        private readonly StringBuilder _streamed = new();
        private readonly List<string> _blocks = [];
        private string? _sessionId;
        private bool _blockStarted;
        private JsonElement? _result;

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
                    else if (eventType == "content_block_delta" && streamEvent.TryGetProperty("delta", out var delta)
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

            var text = _blocks.Count > 0 ? string.Join("\n\n", _blocks) : _streamed.Length > 0 ? _streamed.ToString() : Str(result, "result") ?? "";
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

        private static string? ErrorsOf(JsonElement result) =>
            result.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
                ? string.Join("; ", errors.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : x.ToString()))
                : null;

        private static string? Str(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static long Long(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
    }
}
