using System.Text;
using System.Text.Json;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>A parsed server-sent event: its <c>event:</c> name (or null), its data, or a comment.</summary>
public sealed record SseFrame(string? Event, string? Data, string? Comment)
{
    public JsonElement Json => JsonDocument.Parse(Data!).RootElement;
}

public static class Sse
{
    /// <summary>Splits an event stream into frames, checking the <c>\n\n</c> framing on the way.</summary>
    public static List<SseFrame> Parse(string text)
    {
        Assert.EndsWith("\n\n", text);
        var frames = new List<SseFrame>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? eventName = null, data = null, comment = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
                else if (line.StartsWith(':'))
                {
                    comment = line[1..].Trim();
                }
                else
                {
                    Assert.Fail($"Unexpected SSE line: '{line}'");
                }
            }

            frames.Add(new SseFrame(eventName, data, comment));
        }

        return frames;
    }

    public static List<SseFrame> Parse(MemoryStream stream) => Parse(Encoding.UTF8.GetString(stream.ToArray()));
}
