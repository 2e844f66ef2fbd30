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

        return tool.TryGetProperty("input_schema", out var schema) ? StubJsonSchema.Instance(schema) ?? new JsonObject() : new JsonObject();
    }

    private static bool LastMessageHasToolResult(JsonElement body) =>
        body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0
        && messages[messages.GetArrayLength() - 1].TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
        && content.EnumerateArray().Any(b => b.TryGetProperty("type", out var type) && type.GetString() == "tool_result");
}
