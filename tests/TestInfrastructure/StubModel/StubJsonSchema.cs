using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansCodex.Testing.StubModel;

/// <summary>
/// Structured output for the stub's Responses API: when a request asks for <c>text.format</c> of type <c>json_schema</c> (Codex's
/// <c>--output-schema</c> / <c>outputSchema</c>), the answer is a JSON instance built deterministically from the schema, so tests
/// can check that the schema reached the model and the answer came back as JSON.
/// </summary>
public static class StubJsonSchema
{
    /// <summary>The schema-shaped answer for a Responses request body, or null when it asks for no JSON schema.</summary>
    public static string? AnswerFor(JsonElement body) =>
        body.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.Object
        && text.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.Object
        && format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "json_schema"
        && format.TryGetProperty("schema", out var schema)
            ? Instance(schema)?.ToJsonString() ?? "null"
            : null;

    /// <summary>
    /// A value of <paramref name="schema"/>: objects get each property by its type (string <c>"stub"</c>, integer and number 1,
    /// boolean true, array <c>[]</c>, objects recursively), an <c>enum</c> its first value, a <c>const</c> itself, a union
    /// (<c>anyOf</c>, <c>oneOf</c>, a list of types) its first non-null member.
    /// </summary>
    public static JsonNode? Instance(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            return JsonNode.Parse(constant.GetRawText());
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            return JsonNode.Parse(values[0].GetRawText());
        }

        foreach (var union in (string[])["anyOf", "oneOf"])
        {
            if (schema.TryGetProperty(union, out var members) && members.ValueKind == JsonValueKind.Array)
            {
                var member = members.EnumerateArray().FirstOrDefault(m => TypeOf(m) != "null");
                return member.ValueKind == JsonValueKind.Undefined ? null : Instance(member);
            }
        }

        switch (TypeOf(schema))
        {
            case "string":
                return JsonValue.Create("stub");
            case "integer" or "number":
                return JsonValue.Create(1);
            case "boolean":
                return JsonValue.Create(true);
            case "array":
                return new JsonArray();
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
            default:
                return null;
        }
    }

    /// <summary>The schema's type: <c>type</c> itself, the first non-null of a list of types, or <c>object</c> when it has properties.</summary>
    private static string? TypeOf(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (schema.TryGetProperty("type", out var type))
        {
            return type.ValueKind switch
            {
                JsonValueKind.String => type.GetString(),
                JsonValueKind.Array => type.EnumerateArray().Select(t => t.GetString()).FirstOrDefault(t => t != "null") ?? "null",
                _ => null,
            };
        }

        return schema.TryGetProperty("properties", out _) ? "object" : null;
    }
}
