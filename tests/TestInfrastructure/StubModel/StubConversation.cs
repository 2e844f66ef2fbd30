using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansCodex.Testing.StubModel;

/// <summary>
/// What the stub understood from one request: the real user texts (CLI-injected context removed), the instruction marker and
/// the number of earlier assistant messages. <see cref="Answer"/> is the deterministic reply built from them.
/// </summary>
public sealed partial record StubConversation(
    IReadOnlyList<string> UserTexts,
    int PriorAssistantMessages,
    string? Instruction)
{
    /// <summary>Put this marker followed by one word into instructions; the stub then answers with <c>instruction=&lt;word&gt;</c>.</summary>
    public const string InstructionMarker = "STUB-INSTRUCTION:";

    /// <summary>
    /// <c>ECHO turn=&lt;user messages&gt; prior_assistant=&lt;n&gt;[ instruction=&lt;word&gt;] :: &lt;last user text&gt; | history: &lt;earlier user texts joined by " / ", or "-"&gt;</c>.
    /// </summary>
    public string Answer
    {
        get
        {
            var last = UserTexts.Count > 0 ? UserTexts[^1] : "";
            var history = UserTexts.Count > 1 ? string.Join(" / ", UserTexts.Take(UserTexts.Count - 1)) : "-";
            var instruction = Instruction is null ? "" : $" instruction={Instruction}";
            return $"ECHO turn={UserTexts.Count} prior_assistant={PriorAssistantMessages}{instruction} :: {last} | history: {history}";
        }
    }

    /// <summary>Reads an OpenAI Responses request body (Codex).</summary>
    public static StubConversation FromResponsesRequest(JsonElement body)
    {
        var users = new List<string>();
        var assistants = 0;
        string? instruction = null;

        if (body.TryGetProperty("instructions", out var topInstructions) && topInstructions.ValueKind == JsonValueKind.String)
        {
            instruction = FindInstruction(topInstructions.GetString()) ?? instruction;
        }

        if (body.TryGetProperty("input", out var input))
        {
            if (input.ValueKind == JsonValueKind.String)
            {
                users.Add(input.GetString()!.Trim());
            }
            else if (input.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in input.EnumerateArray())
                {
                    // Only message items count: function_call / function_call_output / reasoning items are tool traffic.
                    var type = item.TryGetProperty("type", out var t) ? t.GetString() : "message";
                    if (type != "message" || !item.TryGetProperty("role", out var roleElement))
                    {
                        continue;
                    }

                    var role = roleElement.GetString();
                    var text = ContentText(item);
                    switch (role)
                    {
                        case "user":
                            var userText = RealUserText(text);
                            if (userText is not null)
                            {
                                users.Add(userText);
                            }

                            break;
                        case "assistant":
                            assistants++;
                            break;
                        case "developer" or "system":
                            instruction = FindInstruction(text) ?? instruction;
                            break;
                    }
                }
            }
        }

        return new StubConversation(users, assistants, instruction);
    }

    /// <summary>Reads an Anthropic Messages request body (Claude Code).</summary>
    public static StubConversation FromMessagesRequest(JsonElement body)
    {
        var users = new List<string>();
        var assistants = 0;
        string? instruction = null;

        if (body.TryGetProperty("system", out var system))
        {
            instruction = FindInstruction(ContentText(system)) ?? instruction;
        }

        if (body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                var role = message.TryGetProperty("role", out var r) ? r.GetString() : null;
                var content = message.TryGetProperty("content", out var c) ? c : default;
                switch (role)
                {
                    case "user":
                        // Tool results are blocks of type tool_result and are skipped by ContentText.
                        var userText = RealUserText(ContentText(content));
                        if (userText is not null)
                        {
                            users.Add(userText);
                        }

                        break;
                    case "assistant":
                        assistants++;
                        break;
                    case "system":
                        instruction = FindInstruction(ContentText(content)) ?? instruction;
                        break;
                }
            }
        }

        return new StubConversation(users, assistants, instruction);
    }

    /// <summary>The text parts of a string or an array of content blocks (<c>text</c>, <c>input_text</c>, <c>output_text</c>), one per line.</summary>
    private static string ContentText(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("content", out var inner))
        {
            element = inner;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString()!;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return "";
        }

        var builder = new StringBuilder();
        foreach (var block in element.EnumerateArray())
        {
            if (block.ValueKind == JsonValueKind.String)
            {
                Append(builder, block.GetString()!);
                continue;
            }

            var type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type is "text" or "input_text" or "output_text" && block.TryGetProperty("text", out var text))
            {
                Append(builder, text.GetString()!);
            }
        }

        return builder.ToString();

        static void Append(StringBuilder builder, string text)
        {
            // Claude sends <system-reminder> blocks and Codex its <environment_context> as separate parts of a user message.
            var cleaned = RealUserText(text);
            if (cleaned is null)
            {
                return;
            }

            if (builder.Length > 0)
            {
                builder.Append('\n');
            }

            builder.Append(cleaned);
        }
    }

    /// <summary>The user's own words with the CLIs' injected context removed, or null when nothing of the user's is left.</summary>
    private static string? RealUserText(string text)
    {
        text = CommandEcho().Replace(SystemReminder().Replace(text, ""), "").Trim();
        if (text.Length == 0
            || text.StartsWith("<environment_context>", StringComparison.Ordinal)
            || text.StartsWith("<user_instructions>", StringComparison.Ordinal)
            || text.StartsWith("# AGENTS.md", StringComparison.Ordinal)
            || text.StartsWith("<permissions", StringComparison.Ordinal)
            || text.StartsWith("<local-command", StringComparison.Ordinal)
            || text.StartsWith("[Request interrupted", StringComparison.Ordinal))
        {
            return null;
        }

        return text;
    }

    private static string? FindInstruction(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var match = InstructionPattern().Match(text);
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"<system-reminder>.*?</system-reminder>", RegexOptions.Singleline)]
    private static partial Regex SystemReminder();

    /// <summary>What Claude Code records of a local command such as <c>set_model</c> (<c>/model</c>) and sends upstream as user text.</summary>
    [GeneratedRegex(@"<(command-name|command-message|command-args|local-command-stdout|local-command-caveat)>.*?</\1>", RegexOptions.Singleline)]
    private static partial Regex CommandEcho();

    [GeneratedRegex(@"STUB-INSTRUCTION:([A-Za-z0-9_.-]+)")]
    private static partial Regex InstructionPattern();
}
