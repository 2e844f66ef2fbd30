using System.Text.Json;

namespace OrleansCodex.Testing.StubModel;

/// <summary>An image a model request carried: its URL as sent, and for a <c>data:</c> URL the media type and decoded bytes.</summary>
public sealed record StubImage(string Url, string? MediaType, byte[]? Bytes)
{
    public bool IsDataUrl => Bytes is not null;
}

/// <summary>Reads the images out of recorded requests, so tests can check which images reached the model.</summary>
public static class StubImages
{
    /// <summary>
    /// The <c>input_image</c> parts of a Responses request (Codex), in order, from every message of its input: Codex sends the
    /// whole history, so a resumed thread's earlier images are counted again.
    /// </summary>
    public static IReadOnlyList<StubImage> ResponsesImages(this StubRequest request)
    {
        var images = new List<StubImage>();
        if (request.Api != StubApi.Responses || !request.Body.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Array)
        {
            return images;
        }

        foreach (var item in input.EnumerateArray())
        {
            if (!item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var part in content.EnumerateArray())
            {
                if (part.TryGetProperty("type", out var type) && type.GetString() == "input_image"
                    && part.TryGetProperty("image_url", out var url) && url.ValueKind == JsonValueKind.String)
                {
                    images.Add(Parse(url.GetString()!));
                }
            }
        }

        return images;
    }

    private static StubImage Parse(string url)
    {
        const string Marker = ";base64,";
        var marker = url.IndexOf(Marker, StringComparison.Ordinal);
        if (!url.StartsWith("data:", StringComparison.Ordinal) || marker < 0)
        {
            return new StubImage(url, null, null);
        }

        return new StubImage(url, url[5..marker], Convert.FromBase64String(url[(marker + Marker.Length)..]));
    }
}
