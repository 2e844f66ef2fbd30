using System.Diagnostics;
using System.Text.Json;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Tests.Providers.AppServer;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>
/// A turn's own controls (output schema, images, sandbox and network access, idle timeout) reach the real Codex in both modes:
/// the warm app-server and <c>codex exec</c>. What arrived is read from the stub model server's recorded requests.
/// </summary>
public sealed class CodexTurnControlsTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private const string Schema = """
        {"type":"object","properties":{"name":{"type":"string"},"count":{"type":"integer"},"ok":{"type":"boolean"},
         "tags":{"type":"array","items":{"type":"string"}},"kind":{"enum":["first","second"]},
         "inner":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"],"additionalProperties":false}},
         "required":["name","count","ok","tags","kind","inner"],"additionalProperties":false}
        """;

    /// <summary>A 1×1 PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    public static TheoryData<CodexMode> Modes => new() { CodexMode.AppServer, CodexMode.Exec };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_OutputSchema_CompletesWithSchemaShapedJson(CodexMode mode)
    {
        var turn = fixture.CodexTurn($"structured {mode}") with { OutputSchema = Schema };

        var done = TurnEvents.AssertCompleted(await RunAsync(mode, turn));

        Assert.Equal("""{"name":"stub","count":1,"ok":true,"tags":[],"kind":"first","inner":{"x":1}}""", done.Text);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains($"structured {mode}"));
        var format = request.Body.GetProperty("text").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(Schema).RootElement, format.GetProperty("schema")), format.GetRawText());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_ImageFiles_ReachTheModelBeforeThePromptWithTheirBytes(CodexMode mode)
    {
        var directory = fixture.Environment.CreateWorkingDirectory("images");
        var paths = new[] { Path.Combine(directory, TurnImages.DirectoryName, "a.png"), Path.Combine(directory, TurnImages.DirectoryName, "b.png") };
        Directory.CreateDirectory(Path.GetDirectoryName(paths[0])!);
        await File.WriteAllBytesAsync(paths[0], Png);
        await File.WriteAllBytesAsync(paths[1], Png);
        var turn = fixture.CodexTurn($"describe the images {mode}", workingDirectory: directory) with
        {
            Images = [.. paths.Select(p => CliImage.File(p, "image/png"))],
        };

        TurnEvents.AssertCompleted(await RunAsync(mode, turn));

        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Any(t => t.Contains($"describe the images {mode}", StringComparison.Ordinal)));
        var images = request.ResponsesImages();
        Assert.Equal(2, images.Count);
        Assert.All(images, image =>
        {
            Assert.Equal("image/png", image.MediaType);
            Assert.Equal(Png, image.Bytes);
        });
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_RemoteImage_FailsWithUnsupportedInputBeforeAnyModelCall(CodexMode mode)
    {
        var requests = fixture.Stub.Requests.Count;
        var turn = fixture.CodexTurn($"describe the remote image {mode}") with { Images = [CliImage.Remote("https://images.example.com/cat.png")] };

        var error = TurnEvents.AssertFailed(await RunAsync(mode, turn), TurnErrorCodes.UnsupportedInput);

        Assert.Contains("https://images.example.com/cat.png", error.Message);
        Assert.Contains("data: URL", error.Message);
        Assert.Equal(400, TurnErrorCodes.HttpStatus(error.Code));
        Assert.Equal(requests, fixture.Stub.Requests.Count);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_SandboxAndNetworkAccess_ReachCodexsPermissions(CodexMode mode)
    {
        var turn = fixture.CodexTurn($"sandboxed {mode}") with { Sandbox = "workspace-write", NetworkAccess = true };

        TurnEvents.AssertCompleted(await RunAsync(mode, turn));

        var permissions = string.Join("\n", Permissions(RequestFor($"sandboxed {mode}")));
        Assert.Contains("workspace-write", permissions);
        Assert.Contains("network access is enabled", permissions, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AppServer_LoadedThread_FollowsALaterTurnsSandbox()
    {
        await using var app = new AppServerHarness(fixture);
        var first = fixture.CodexTurn("read only first") with { Sandbox = "read-only" };
        var firstEvents = await app.RunAsync(first);
        var firstDone = TurnEvents.AssertCompleted(firstEvents);
        var pid = app.Pid;

        await app.CompleteAsync(first with
        {
            Prompt = "writable second", Sandbox = "workspace-write", ResumeSessionId = firstEvents[0].SessionId, SessionUsageBefore = firstDone.SessionUsage,
        });

        Assert.Equal(pid, app.Pid);
        Assert.Contains("read-only", Permissions(RequestFor("read only first"))[^1]);
        Assert.Contains("workspace-write", Permissions(RequestFor("writable second"))[^1]);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_CliSilentForTheIdleTimeout_FailsWithTimeoutLongBeforeTheDeadline(CodexMode mode)
    {
        // Exec prints an agent message only when it is complete, so a slow stream is silence to it; the app-server streams
        // every word of a slow answer, so it needs a hung one.
        var model = mode == CodexMode.Exec ? StubModelServer.MagicModels.Slow : StubModelServer.MagicModels.Hang;
        var turn = fixture.CodexTurn($"silent {mode}", model) with { IdleTimeout = TimeSpan.FromSeconds(3) };
        await using var app = new AppServerHarness(fixture);
        var runner = mode == CodexMode.Exec ? (ICliRunner)fixture.Codex() : app.Runner;

        var stopwatch = Stopwatch.StartNew();
        var events = await CliFixture.RunToEndAsync(runner, turn);
        stopwatch.Stop();

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.Timeout);
        Assert.Contains("no output for 3 s", error.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}; the deadline was {turn.Timeout}");
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
        if (mode == CodexMode.Exec)
        {
            var pid = fixture.Logs.StartedPids[^1];
            Assert.False(ProcessTree.IsRunning(pid), $"codex exec pid {pid} still runs after the idle timeout");
        }
        else
        {
            await app.CompleteAsync(fixture.CodexTurn("after the silence"));
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RunAsync_UpstreamRefusesConnections_FailsFastWithUpstreamError(CodexMode mode)
    {
        var home = CodexHomeWithBaseUrl($"http://127.0.0.1:{CliFixture.ClosedPort()}/v1");
        await using var app = new AppServerHarness(fixture, o => o.ExtraEnvironment["CODEX_HOME"] = home);
        var runner = mode == CodexMode.Exec ? (ICliRunner)fixture.Codex(o => o.ExtraEnvironment["CODEX_HOME"] = home) : app.Runner;

        var stopwatch = Stopwatch.StartNew();
        var events = await CliFixture.RunToEndAsync(runner, fixture.CodexTurn($"nobody listens {mode}") with { IdleTimeout = TimeSpan.FromSeconds(30) });
        stopwatch.Stop();

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.Contains("Connection failed", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
    }

    private async Task<List<TurnEvent>> RunAsync(CodexMode mode, CliTurn turn)
    {
        if (mode == CodexMode.Exec)
        {
            return await CliFixture.RunToEndAsync(fixture.Codex(), turn);
        }

        await using var app = new AppServerHarness(fixture);
        return await app.RunAsync(turn);
    }

    private StubRequest RequestFor(string prompt) =>
        fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Count > 0 && r.Conversation.UserTexts[^1] == prompt);

    /// <summary>The <c>&lt;permissions instructions&gt;</c> texts Codex put into the request's developer messages, oldest first.</summary>
    private static List<string> Permissions(StubRequest request) =>
        request.Body.GetProperty("input").EnumerateArray()
            .Where(i => i.TryGetProperty("role", out var role) && role.GetString() == "developer")
            .SelectMany(i => i.GetProperty("content").EnumerateArray().Select(c => c.GetProperty("text").GetString() ?? ""))
            .Where(t => t.Contains("<permissions instructions>", StringComparison.Ordinal))
            .ToList();

    /// <summary>A copy of the fixture's Codex home whose model provider points at <paramref name="baseUrl"/>.</summary>
    private string CodexHomeWithBaseUrl(string baseUrl)
    {
        var home = fixture.Environment.CreateWorkingDirectory("codex-home");
        var config = File.ReadAllText(Path.Combine(fixture.Environment.CodexHome, "config.toml")).Replace(fixture.Stub.OpenAiBaseUrl, baseUrl, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(home, "config.toml"), config);
        return home;
    }
}
