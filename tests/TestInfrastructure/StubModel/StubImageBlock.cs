using System.Text.Json;

namespace OrleansCodex.Testing.StubModel;

/// <summary>An Anthropic <c>image</c> content block of a user message as the stub received it.</summary>
/// <param name="SourceType"><c>base64</c> or <c>url</c>.</param>
/// <param name="ByteLength">The decoded size of a <c>base64</c> image; 0 for a URL.</param>
public sealed record StubImageBlock(string SourceType, string? MediaType, int ByteLength, string? Url)
{
    /// <summary>The image blocks of all user messages of an Anthropic Messages request body, in order.</summary>
    public static IReadOnlyList<StubImageBlock> FromMessagesRequest(JsonElement body)
    {
        var images = new List<StubImageBlock>();
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return images;
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (!message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var block in content.EnumerateArray())
            {
                if (Str(block, "type") != "image" || !block.TryGetProperty("source", out var source))
                {
                    continue;
                }

                var data = Str(source, "data");
                images.Add(new StubImageBlock(Str(source, "type") ?? "", Str(source, "media_type"), data is null ? 0 : Convert.FromBase64String(data).Length, Str(source, "url")));
            }
        }

        return images;
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
