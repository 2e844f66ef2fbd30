using System.Text.Json;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>A validated <c>POST /v1/responses</c> body.</summary>
public sealed record ResponsesTurnInput(
    string Model,
    IReadOnlyList<InputMessage> Input,
    string? Instructions,
    string? PreviousResponseId,
    bool Stream,
    bool Store,
    IReadOnlyDictionary<string, string>? Metadata,
    TurnControls Controls,
    double? Temperature,
    double? TopP,
    bool ParallelToolCalls,
    int? MaxOutputTokens);

/// <summary>Validates a Responses request into turn input; every failure is a 400 naming the offending parameter.</summary>
public static class ResponsesRequestParser
{
    public static ResponsesTurnInput Parse(CreateResponseRequest request, TurnPolicy policy)
    {
        var model = TurnValidation.RequireModel(request.Model);
        var hasConversation = request.Conversation.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
        if (hasConversation && request.PreviousResponseId is not null)
        {
            throw OpenAiException.InvalidRequest("'previous_response_id' and 'conversation' cannot be used together.", "conversation", "invalid_value");
        }

        if (hasConversation)
        {
            // Ignoring it would silently start a fresh conversation.
            throw OpenAiException.InvalidRequest("The 'conversation' parameter is not supported by this server; continue with 'previous_response_id'.", "conversation", "unsupported_parameter");
        }

        if (request.Background is true)
        {
            throw OpenAiException.InvalidRequest("Background responses are not supported by this server; use 'stream' instead.", "background", "unsupported_parameter");
        }

        if (request.PreviousResponseId is { Length: 0 })
        {
            throw OpenAiException.InvalidRequest("'previous_response_id' must not be empty.", "previous_response_id", "invalid_value");
        }

        var input = policy.ValidateImages(ParseInput(request.Input), "input", model);
        var format = request.Text.ValueKind == JsonValueKind.Object && request.Text.TryGetProperty("format", out var textFormat) ? textFormat : default;
        if (request.Text.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            throw OpenAiException.InvalidRequest("'text' must be an object.", "text", "invalid_type");
        }

        var outputFormat = TurnPolicy.ParseOutputFormat(format, "text.format", nestedSchema: false);
        var controls = policy.ParseControls(request.XCodex, model,
            TurnValidation.ValidateEffort(request.Reasoning?.Effort, "reasoning.effort"), "reasoning.effort", outputFormat);
        return new ResponsesTurnInput(
            model,
            input,
            request.Instructions,
            request.PreviousResponseId,
            request.Stream ?? false,
            request.Store ?? true,
            TurnValidation.ValidateMetadata(request.Metadata),
            controls,
            request.Temperature,
            request.TopP,
            request.ParallelToolCalls ?? true,
            request.MaxOutputTokens);
    }

    public static IReadOnlyList<InputMessage> ParseInput(JsonElement input)
    {
        switch (input.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw OpenAiException.InvalidRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter");
            case JsonValueKind.String:
                var text = input.GetString()!;
                return text.Length == 0
                    ? throw OpenAiException.InvalidRequest("'input' must not be empty.", "input", "invalid_value")
                    : [InputMessage.User(text)];
            case JsonValueKind.Array:
                break;
            default:
                throw OpenAiException.InvalidRequest("'input' must be a string or an array of input items.", "input", "invalid_type");
        }

        var messages = new List<InputMessage>();
        var index = 0;
        foreach (var item in input.EnumerateArray())
        {
            if (ParseItem(item, $"input[{index}]") is { } message)
            {
                messages.Add(message);
            }

            index++;
        }

        return messages.Count == 0
            ? throw OpenAiException.InvalidRequest("'input' must contain at least one message.", "input", "invalid_value")
            : messages;
    }

    private static InputMessage? ParseItem(JsonElement item, string param)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.InvalidRequest($"'{param}' must be an object.", param, "invalid_type");
        }

        var type = OptionalString(item, "type", param);
        switch (type)
        {
            case null or "message":
                break;
            case "reasoning":
                // A previous answer's reasoning summary: nothing for the CLI to act on.
                return null;
            default:
                throw OpenAiException.InvalidRequest(
                    $"Input items of type '{TurnValidation.Truncate(type)}' are not supported by this server; send messages.", $"{param}.type", "unsupported_value");
        }

        var role = OptionalString(item, "role", param);
        if (role is not ("user" or "assistant" or "system" or "developer"))
        {
            throw OpenAiException.InvalidRequest(
                role is null
                    ? $"Missing required parameter: '{param}.role'."
                    : $"Invalid value for '{param}.role': '{TurnValidation.Truncate(role)}'. Supported values are: 'user', 'assistant', 'system' and 'developer'.",
                $"{param}.role", role is null ? "missing_required_parameter" : "invalid_value");
        }

        if (!item.TryGetProperty("content", out var content))
        {
            throw OpenAiException.InvalidRequest($"Missing required parameter: '{param}.content'.", $"{param}.content", "missing_required_parameter");
        }

        var textType = role == "assistant" ? "output_text" : "input_text";
        return content.ValueKind switch
        {
            JsonValueKind.String => new InputMessage(role, [new ContentPart(textType, content.GetString())]),
            JsonValueKind.Array => new InputMessage(role, ParseParts(content, $"{param}.content")),
            _ => throw OpenAiException.InvalidRequest($"'{param}.content' must be a string or an array of content parts.", $"{param}.content", "invalid_type"),
        };
    }

    private static List<ContentPart> ParseParts(JsonElement content, string param)
    {
        var parts = new List<ContentPart>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partParam = $"{param}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.InvalidRequest($"'{partParam}' must be an object.", partParam, "invalid_type");
            }

            var type = OptionalString(part, "type", partParam)
                ?? throw OpenAiException.InvalidRequest($"Missing required parameter: '{partParam}.type'.", $"{partParam}.type", "missing_required_parameter");
            parts.Add(type switch
            {
                "input_text" or "output_text" => new ContentPart(type, RequiredString(part, "text", partParam)),
                "refusal" => new ContentPart("output_text", RequiredString(part, "refusal", partParam)),
                "input_image" => new ContentPart("input_image", ImageUrl: ImageUrl(part, partParam)),
                _ => throw OpenAiException.InvalidRequest(
                    $"Invalid content part type '{TurnValidation.Truncate(type)}' in '{partParam}'. Supported types are: 'input_text', 'input_image' and 'output_text'.",
                    $"{partParam}.type", "invalid_value"),
            });
        }

        return parts;
    }

    private static string ImageUrl(JsonElement part, string param)
    {
        if (OptionalString(part, "image_url", param) is { Length: > 0 } url)
        {
            return url;
        }

        throw OpenAiException.InvalidRequest(
            part.TryGetProperty("file_id", out _)
                ? $"'{param}.file_id' is not supported by this server; send the image as 'image_url' (a URL or a data: URL)."
                : $"Missing required parameter: '{param}.image_url'.",
            $"{param}.image_url", "missing_required_parameter");
    }

    internal static string? OptionalString(JsonElement obj, string name, string param)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw OpenAiException.InvalidRequest($"'{param}.{name}' must be a string.", $"{param}.{name}", "invalid_type");
    }

    internal static string RequiredString(JsonElement obj, string name, string param) =>
        OptionalString(obj, name, param)
        ?? throw OpenAiException.InvalidRequest($"Missing required parameter: '{param}.{name}'.", $"{param}.{name}", "missing_required_parameter");
}
