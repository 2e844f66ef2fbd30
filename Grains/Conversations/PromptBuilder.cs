using System.Text;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// Turns input messages into the text a CLI reads on stdin. A resumed session gets only the new input; a fresh session that must
/// know earlier turns (a fork, a moved conversation, a stateless chat request) gets them as a transcript first.
/// </summary>
public static class PromptBuilder
{
    /// <summary>What a <c>json_object</c> output format adds to the CLI's instructions (the CLIs have no such mode of their own).</summary>
    public const string JsonObjectInstruction = "Answer with one valid JSON object and nothing else: no prose, no code fences.";

    /// <summary>The instructions the CLI gets: the client's, then what its output format needs.</summary>
    public static string? InstructionsFor(TurnRequest request) =>
        request.OutputFormat?.Type != OutputFormat.JsonObjectType ? request.Instructions
        : request.Instructions is null ? JsonObjectInstruction
        : request.Instructions + "\n\n" + JsonObjectInstruction;

    /// <summary>The new input alone: a single user message is sent as its text, anything else as a labelled list.</summary>
    public static string ForInput(IReadOnlyList<InputMessage> input)
    {
        if (input.Count == 1 && input[0].Role == "user")
        {
            return TextOf(input[0]);
        }

        var text = new StringBuilder();
        AppendMessages(text, input);
        return text.ToString().TrimEnd();
    }

    /// <summary>A transcript of earlier turns (oldest first) followed by the new input.</summary>
    public static string WithTranscript(IReadOnlyList<StoredResponse> history, IReadOnlyList<InputMessage> input)
    {
        var earlier = new List<InputMessage>();
        foreach (var turn in history)
        {
            earlier.AddRange(turn.Input);
            if (turn.OutputText.Length > 0)
            {
                earlier.Add(new InputMessage("assistant", [new ContentPart("output_text", turn.OutputText)]));
            }
        }

        // A stateless request (chat completions) carries its own history: everything but its last user message is transcript.
        var current = input;
        var lastUser = LastIndexOfUser(input);
        if (lastUser > 0)
        {
            earlier.AddRange(input.Take(lastUser));
            current = input.Skip(lastUser).ToList();
        }

        if (earlier.Count == 0)
        {
            return ForInput(current);
        }

        var text = new StringBuilder();
        text.Append("This conversation continues from the transcript below (earlier turns, oldest first).\n\n<transcript>\n");
        AppendMessages(text, earlier);
        text.Append("</transcript>\n\nReply to the latest message:\n\n");
        text.Append(ForInput(current));
        return text.ToString();
    }

    /// <summary>
    /// The images the CLI gets with the prompt: those of the new input (for a transcript-seeded prompt, of the part after the transcript).
    /// Images of earlier turns appear in a transcript only as <c>[image]</c>.
    /// </summary>
    public static IReadOnlyList<ContentPart> ImagesOf(IReadOnlyList<InputMessage> input, bool withTranscript)
    {
        var lastUser = LastIndexOfUser(input);
        var current = withTranscript && lastUser > 0 ? input.Skip(lastUser) : input;
        return current.SelectMany(m => m.Content).Where(p => p.Type == "input_image" && p.ImageUrl is not null).ToList();
    }

    /// <summary>A message's text, with <c>[image]</c> where it had images (and alone when it has no text).</summary>
    private static string TextOf(InputMessage message)
    {
        var images = message.Content.Count(p => p.Type == "input_image");
        if (images == 0)
        {
            return message.Text;
        }

        var marker = string.Join(" ", Enumerable.Repeat("[image]", images));
        return message.Text.Length == 0 ? marker : message.Text + "\n\n" + marker;
    }

    private static int LastIndexOfUser(IReadOnlyList<InputMessage> input)
    {
        for (var i = input.Count - 1; i >= 0; i--)
        {
            if (input[i].Role == "user")
            {
                return i;
            }
        }

        return -1;
    }

    private static void AppendMessages(StringBuilder text, IEnumerable<InputMessage> messages)
    {
        foreach (var message in messages)
        {
            text.Append('[').Append(message.Role).Append("]\n").Append(TextOf(message)).Append("\n\n");
        }
    }
}
