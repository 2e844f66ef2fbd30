using System.Text;
using System.Text.Json;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using static OrleansCodex.Api.Responses.ResponsesRequestParser;

namespace OrleansCodex.Api.ChatCompletions;

/// <summary>A validated <c>POST /v1/chat/completions</c> body: system/developer messages become the instructions, the rest the input.</summary>
public sealed record ChatTurnInput(
    string Model,
    IReadOnlyList<InputMessage> Input,
    string? Instructions,
    bool Stream,
    bool IncludeUsage,
    IReadOnlyDictionary<string, string>? Metadata,
    TurnControls Controls);

/// <summary>Validates a Chat Completions request; every failure is a 400 naming the offending parameter.</summary>
public static class ChatRequestParser
{
    public static ChatTurnInput Parse(ChatCompletionRequest request, TurnPolicy policy)
    {
        var model = TurnValidation.RequireModel(request.Model);
        if (request.N is { } n && n != 1)
        {
            throw OpenAiException.InvalidRequest($"Invalid value for 'n': {n}. This server returns exactly one choice; use n=1.", "n", "invalid_value");
        }

        var (input, instructions) = ParseMessages(request.Messages);
        var outputFormat = TurnPolicy.ParseOutputFormat(request.ResponseFormat, "response_format", nestedSchema: true);
        return new ChatTurnInput(
            model,
            policy.ValidateImages(input, "messages", model),
            instructions,
            request.Stream ?? false,
            request.StreamOptions?.IncludeUsage ?? false,
            TurnValidation.ValidateMetadata(request.Metadata),
            policy.ParseControls(request.XCodex, model, TurnValidation.ValidateEffort(request.ReasoningEffort, "reasoning_effort"), "reasoning_effort",
                outputFormat));
    }

    public static (IReadOnlyList<InputMessage> Input, string? Instructions) ParseMessages(JsonElement messages)
    {
        if (messages.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            throw OpenAiException.InvalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw OpenAiException.InvalidRequest("'messages' must be a non-empty array of messages.", "messages", "invalid_value");
        }

        var input = new List<InputMessage>();
        var instructions = new List<string>();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var param = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.InvalidRequest($"'{param}' must be an object.", param, "invalid_type");
            }

            var role = OptionalString(message, "role", param);
            switch (role)
            {
                case "system" or "developer":
                    var text = string.Join("\n\n", ParseContent(message, param, role).Where(p => p.Text is not null).Select(p => p.Text));
                    if (text.Length > 0)
                    {
                        instructions.Add(text);
                    }

                    break;
                case "user":
                    input.Add(new InputMessage("user", ParseContent(message, param, role)));
                    break;
                case "assistant":
                    input.Add(new InputMessage("assistant", AssistantContent(message, param)));
                    break;
                case "tool":
                    var callId = OptionalString(message, "tool_call_id", param) ?? "unknown";
                    var result = string.Join("\n\n", ParseContent(message, param, role).Where(p => p.Text is not null).Select(p => p.Text));
                    input.Add(new InputMessage("user", [ContentPart.FromText($"Result of tool call {callId}:\n{result}")]));
                    break;
                case null:
                    throw OpenAiException.InvalidRequest($"Missing required parameter: '{param}.role'.", $"{param}.role", "missing_required_parameter");
                default:
                    throw OpenAiException.InvalidRequest(
                        $"Invalid value for '{param}.role': '{TurnValidation.Truncate(role)}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.",
                        $"{param}.role", "invalid_value");
            }
        }

        if (input.Count == 0)
        {
            throw OpenAiException.InvalidRequest("'messages' must contain at least one user, assistant or tool message.", "messages", "invalid_value");
        }

        return (input, instructions.Count == 0 ? null : string.Join("\n\n", instructions));
    }

    private static List<ContentPart> AssistantContent(JsonElement message, string param)
    {
        var parts = ParseContent(message, param, "assistant", allowNull: true);
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0)
        {
            // The CLI ran its own tools; a client's tool calls are replayed as text so that the history stays complete.
            var text = new StringBuilder("Tool calls:");
            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object)
                {
                    text.Append('\n').Append(function.TryGetProperty("name", out var name) ? name.ToString() : "?")
                        .Append('(').Append(function.TryGetProperty("arguments", out var arguments) ? arguments.ToString() : "").Append(')');
                }
            }

            parts.Add(new ContentPart("output_text", text.ToString()));
        }

        return parts;
    }

    private static List<ContentPart> ParseContent(JsonElement message, string param, string role, bool allowNull = false)
    {
        var textType = role == "assistant" ? "output_text" : "input_text";
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return allowNull
                ? []
                : throw OpenAiException.InvalidRequest($"Missing required parameter: '{param}.content'.", $"{param}.content", "missing_required_parameter");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return [new ContentPart(textType, content.GetString())];
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.InvalidRequest($"'{param}.content' must be a string or an array of content parts.", $"{param}.content", "invalid_type");
        }

        var parts = new List<ContentPart>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partParam = $"{param}.content[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.InvalidRequest($"'{partParam}' must be an object.", partParam, "invalid_type");
            }

            var type = OptionalString(part, "type", partParam)
                ?? throw OpenAiException.InvalidRequest($"Missing required parameter: '{partParam}.type'.", $"{partParam}.type", "missing_required_parameter");
            parts.Add(type switch
            {
                "text" => new ContentPart(textType, RequiredString(part, "text", partParam)),
                "refusal" when role == "assistant" => new ContentPart("output_text", RequiredString(part, "refusal", partParam)),
                "image_url" when role == "user" => new ContentPart("input_image", ImageUrl: ImageUrl(part, partParam)),
                _ => throw OpenAiException.InvalidRequest(
                    $"Invalid content part type '{TurnValidation.Truncate(type)}' in '{partParam}' for role '{role}'. Supported types are: 'text'" +
                    (role == "user" ? " and 'image_url'." : "."),
                    $"{partParam}.type", "invalid_value"),
            });
        }

        return parts;
    }

    private static string ImageUrl(JsonElement part, string param)
    {
        if (part.TryGetProperty("image_url", out var image))
        {
            if (image.ValueKind == JsonValueKind.String && image.GetString() is { Length: > 0 } direct)
            {
                return direct;
            }

            if (image.ValueKind == JsonValueKind.Object && OptionalString(image, "url", $"{param}.image_url") is { Length: > 0 } url)
            {
                return url;
            }
        }

        throw OpenAiException.InvalidRequest($"Missing required parameter: '{param}.image_url.url'.", $"{param}.image_url.url", "missing_required_parameter");
    }
}
