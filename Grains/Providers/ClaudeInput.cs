using System.Text.Json.Nodes;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>The stream-json input line of a Claude Code turn (<c>--input-format stream-json</c>).</summary>
internal static class ClaudeInput
{
    /// <summary>
    /// <c>{"type":"user","message":{"role":"user","content":[…]}}</c>: the turn's images as Anthropic image blocks (a file as
    /// <c>base64</c>, a remote image as <c>url</c>, which the model provider fetches), then the prompt as a text block. Claude forwards
    /// the blocks to the model as they are.
    /// </summary>
    /// <exception cref="ArgumentException">An image file of the turn cannot be read.</exception>
    public static async Task<string> UserMessageAsync(CliTurn turn, CancellationToken cancellationToken)
    {
        var content = new JsonArray();
        foreach (var image in turn.Images)
        {
            JsonObject source;
            if (image.Path is { } path)
            {
                byte[] bytes;
                try
                {
                    bytes = await File.ReadAllBytesAsync(path, cancellationToken);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ArgumentException($"The image {path} of the turn cannot be read: {e.Message}", nameof(turn), e);
                }

                source = new JsonObject { ["type"] = "base64", ["media_type"] = image.MediaType, ["data"] = Convert.ToBase64String(bytes) };
            }
            else
            {
                source = new JsonObject { ["type"] = "url", ["url"] = image.Url };
            }

            content.Add(new JsonObject { ["type"] = "image", ["source"] = source });
        }

        content.Add(new JsonObject { ["type"] = "text", ["text"] = turn.Prompt });
        var message = new JsonObject
        {
            ["type"] = "user",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = content },
        };
        return message.ToJsonString();
    }
}
