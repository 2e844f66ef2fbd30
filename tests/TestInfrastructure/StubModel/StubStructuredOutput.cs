using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansCodex.Testing.StubModel;

/// <summary>
/// Claude Code's <c>--json-schema</c>: the request offers a tool named <see cref="ToolName"/> whose <c>input_schema</c> is the
/// schema, and the model must call it. The stub calls it with an instance made deterministically from the schema, and answers
/// the following <c>tool_result</c> turn with its usual echo text.
/// </summary>
public static class StubStructuredOutput
{
    public const string ToolName = "StructuredOutput";

    /// <summary>The input of the stub's call of <see cref="ToolName"/>, or null when the request offers no such tool or already carries its result.</summary>
    public static JsonNode? CallFor(JsonElement body)
    {
        if (!body.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var tool = tools.EnumerateArray().FirstOrDefault(t => t.TryGetProperty("name", out var name) && name.GetString() == ToolName);
        if (tool.ValueKind != JsonValueKind.Object || LastMessageHasToolResult(body))
        {
            return null;
        }

        return tool.TryGetProperty("input_schema", out var schema) ? Instance(schema) : new JsonObject();
    }

    /// <summary>
    /// An instance of <paramref name="schema"/>: an object gets every property, a string <c>"stub"</c>, an integer or number 1,
    /// a boolean true, an array <c>[]</c>, an enum its first value.
    /// </summary>
    public static JsonNode? Instance(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return "stub";
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            return JsonNode.Parse(values[0].GetRawText());
        }

        var type = schema.TryGetProperty("type", out var t)
            ? t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()).FirstOrDefault(x => x != "null") : t.GetString()
            : schema.TryGetProperty("properties", out _) ? "object" : "string";
        switch (type)
        {
            case "object":
                var instance = new JsonObject();
                if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in properties.EnumerateObject())
                    {
                        instance[property.Name] = Instance(property.Value);
                    }
                }

                return instance;
            case "integer" or "number":
                return 1;
            case "boolean":
                return true;
            case "array":
                return new JsonArray();
            default:
                return "stub";
        }
    }

    private static bool LastMessageHasToolResult(JsonElement body) =>
        body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0
        && messages[messages.GetArrayLength() - 1].TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
        && content.EnumerateArray().Any(b => b.TryGetProperty("type", out var type) && type.GetString() == "tool_result");
}
