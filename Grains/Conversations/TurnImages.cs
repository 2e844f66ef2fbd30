using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// Puts a turn's images where its CLI can read them: a <c>data:</c> URL is decoded into <c>.images/</c> in the conversation's
/// directory; an <c>https</c> URL (only accepted when the server allows remote images) is handed on for the model provider to fetch.
/// The front end has already checked media types, encoding and sizes.
/// </summary>
public static class TurnImages
{
    public const string DirectoryName = ".images";

    /// <summary>Media types the CLIs and model providers take, with the file extension used for them.</summary>
    public static readonly IReadOnlyDictionary<string, string> MediaTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["image/png"] = ".png",
        ["image/jpeg"] = ".jpg",
        ["image/gif"] = ".gif",
        ["image/webp"] = ".webp",
    };

    /// <summary>Splits <c>data:image/png;base64,AAAA</c> into its media type and payload; false for anything else.</summary>
    public static bool TryParseDataUrl(string url, out string mediaType, out string base64)
    {
        mediaType = base64 = "";
        const string Prefix = "data:";
        const string Marker = ";base64,";
        if (!url.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var marker = url.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        if (marker < 0)
        {
            return false;
        }

        mediaType = url[Prefix.Length..marker].ToLowerInvariant();
        base64 = url[(marker + Marker.Length)..];
        return true;
    }

    public static async Task<IReadOnlyList<CliImage>> MaterializeAsync(IReadOnlyList<ContentPart> images, string conversationDirectory, string responseId, CancellationToken cancellationToken)
    {
        if (images.Count == 0)
        {
            return [];
        }

        var result = new List<CliImage>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            var url = images[i].ImageUrl!;
            if (!TryParseDataUrl(url, out var mediaType, out var base64))
            {
                result.Add(CliImage.Remote(url));
                continue;
            }

            var directory = Path.Combine(conversationDirectory, DirectoryName);
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, $"{responseId}-{i}{MediaTypes.GetValueOrDefault(mediaType, ".bin")}");
            await File.WriteAllBytesAsync(path, Convert.FromBase64String(base64), cancellationToken);
            result.Add(CliImage.File(path, mediaType));
        }

        return result;
    }
}
