using System.Text.Json.Nodes;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>Images and output schemas reach the model in both Claude modes (print: one process per turn; stream: warm processes).</summary>
public sealed class ClaudeTurnInputTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    /// <summary>A 1×1 transparent PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    private const string Schema = """
        {"type":"object","properties":{"answer":{"type":"string"},"count":{"type":"integer"},"ok":{"type":"boolean"},
         "tags":{"type":"array","items":{"type":"string"}},"kind":{"enum":["first","second"]},
         "inner":{"type":"object","properties":{"score":{"type":"number"}},"required":["score"]}},
         "required":["answer","count","ok","tags","kind","inner"]}
        """;

    [Theory]
    [InlineData(ClaudeMode.Print)]
    [InlineData(ClaudeMode.Stream)]
    public async Task RunAsync_TurnWithAFileAndARemoteImage_SendsBothAsImageBlocksBeforeThePrompt(ClaudeMode mode)
    {
        var turn = fixture.ClaudeTurn($"describe these {mode}");
        var imagePath = Path.Combine(turn.WorkingDirectory, "pixel.png");
        await File.WriteAllBytesAsync(imagePath, Png);
        turn = turn with { Images = [CliImage.File(imagePath, "image/png"), CliImage.Remote("https://example.com/cat.jpg")] };
        await using var harness = new ClaudeStreamHarness(fixture);

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(mode == ClaudeMode.Stream ? harness.Runner : fixture.Claude(), turn));

        Assert.Equal($"ECHO turn=1 prior_assistant=0 :: describe these {mode} | history: -", done.Text);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains($"describe these {mode}"));
        Assert.Equal(
            [new StubImageBlock("base64", "image/png", Png.Length, null), new StubImageBlock("url", null, 0, "https://example.com/cat.jpg")],
            request.MessagesImages);
    }

    [Theory]
    [InlineData(ClaudeMode.Print)]
    [InlineData(ClaudeMode.Stream)]
    public async Task RunAsync_TurnWithAnOutputSchema_CompletesWithSchemaShapedJson(ClaudeMode mode)
    {
        var turn = fixture.ClaudeTurn($"structured please {mode}") with { OutputSchema = Schema };
        await using var harness = new ClaudeStreamHarness(fixture);

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(mode == ClaudeMode.Stream ? harness.Runner : fixture.Claude(), turn));

        var expected = JsonNode.Parse("""{"answer":"stub","count":1,"ok":true,"tags":[],"kind":"first","inner":{"score":1}}""");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(done.Text!)), $"got {done.Text}");
        Assert.Contains(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains($"structured please {mode}")
            && r.Body.GetProperty("tools").EnumerateArray().Any(t => t.GetProperty("name").GetString() == StubStructuredOutput.ToolName));
    }
}
