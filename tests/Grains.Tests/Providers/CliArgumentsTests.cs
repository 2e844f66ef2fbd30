using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Tests.Providers.AppServer;
using OrleansCodex.Grains.Workers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>Command lines are built as argument lists (no shell ever parses them) and bad input is refused loudly.</summary>
public sealed class CliArgumentsTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private const string ThreadId = "01a2012d-ddbe-7b73-90e8-4a421a2be22a";

    [Fact]
    public void CodexArguments_ResumedTurn_PutExecOptionsBeforeResumeAndRepeatTheModel()
    {
        var turn = fixture.CodexTurn("p", "gpt-5.5", "/srv/conv") with
        {
            ResumeSessionId = ThreadId, ReasoningEffort = "high", Instructions = "be \"terse\"", Ephemeral = true,
        };

        var arguments = fixture.Codex().BuildArguments(turn, new CliOptions());

        Assert.Equal(
            [
                "exec", "--json", "--skip-git-repo-check", "-m", "gpt-5.5", "-s", "read-only", "-C", "/srv/conv",
                "-c", "analytics.enabled=false", "-c", "features.plugins=false", "-c", "features.unbounded_connection_retries=false",
                "-c", "sandbox_workspace_write.network_access=false",
                "-c", "model_reasoning_effort=\"high\"", "-c", "developer_instructions=\"be \\\"terse\\\"\"", "--ephemeral",
                "resume", ThreadId, "-",
            ],
            arguments);
    }

    [Fact]
    public void CodexArguments_NewTurn_EndWithStdinMarkerAndNoResume()
    {
        var arguments = fixture.Codex().BuildArguments(fixture.CodexTurn("p", "gpt-5.5", "/srv/conv"), new CliOptions { CodexSandboxMode = "workspace-write" });

        Assert.DoesNotContain("resume", arguments);
        Assert.Equal("-", arguments[^1]);
        Assert.Equal("workspace-write", arguments[arguments.ToList().IndexOf("-s") + 1]);
    }

    [Fact]
    public void CodexArguments_TurnControls_SandboxNetworkImagesBeforeTheModelAndSchemaFile()
    {
        var turn = fixture.CodexTurn("p", "gpt-5.5", "/srv/conv") with
        {
            Sandbox = "workspace-write",
            NetworkAccess = true,
            Images = [CliImage.File("/srv/conv/.images/a.png", "image/png"), CliImage.File("/srv/conv/.images/b.jpg", "image/jpeg")],
            OutputSchema = """{"type":"object"}""",
        };

        var arguments = fixture.Codex().BuildArguments(turn, new CliOptions { CodexSandboxMode = "read-only" }).ToList();

        // -i takes several values: each image is followed by another option, never by the stdin marker.
        Assert.Equal(["-i", "/srv/conv/.images/a.png", "-i", "/srv/conv/.images/b.jpg", "-m"], arguments.Skip(3).Take(5));
        Assert.Equal("workspace-write", arguments[arguments.IndexOf("-s") + 1]);
        Assert.Contains("sandbox_workspace_write.network_access=true", arguments);
        var schema = arguments[arguments.IndexOf("--output-schema") + 1];
        Assert.Equal(CodexExecRunner.SchemaPath(turn), schema);
        Assert.StartsWith("/srv/conv/.schemas/", schema);
        Assert.Equal("-", arguments[^1]);
    }

    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("a\"b\\c", "\"a\\\"b\\\\c\"")]
    [InlineData("line1\nline2\ttab\r", "\"line1\\nline2\\ttab\\r\"")]
    [InlineData("bell\u0007", "\"bell\\u0007\"")]
    [InlineData("ünï ✓", "\"ünï ✓\"")]
    public void TomlString_AnyText_IsAValidBasicString(string value, string expected)
    {
        Assert.Equal(expected, CodexExecRunner.TomlString(value));
    }

    [Fact]
    public void ClaudeArguments_AttachValuesWithEqualsSoDashedValuesAreNotFlags()
    {
        var turn = fixture.ClaudeTurn("p", "sonnet", "/srv/conv") with
        {
            NewSessionId = null, ResumeSessionId = ThreadId, Instructions = "--dangerously-skip-permissions", ReasoningEffort = "low", Ephemeral = true,
        };

        var arguments = fixture.Claude().BuildArguments(turn, new CliOptions());

        Assert.Equal(
            [
                "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--model=sonnet",
                $"--resume={ThreadId}", "--append-system-prompt=--dangerously-skip-permissions", "--effort=low", "--permission-mode=default",
                "--no-session-persistence",
            ],
            arguments);
    }

    [Fact]
    public void ClaudeArguments_ResumeAndNewId_ForkIntoTheNewSession()
    {
        var newId = Guid.NewGuid().ToString();
        var turn = fixture.ClaudeTurn("p") with { ResumeSessionId = ThreadId, NewSessionId = newId };

        var arguments = fixture.Claude().BuildArguments(turn, new CliOptions());

        Assert.Equal([$"--resume={ThreadId}", "--fork-session", $"--session-id={newId}", "--permission-mode=default"], arguments.Skip(8));
    }

    [Fact]
    public void ClaudeArguments_ServerPermissionSettings_BecomePermissionModeToolsAndOneAllowedToolsPerEntry()
    {
        var options = new CliOptions { ClaudePermissionMode = "dontAsk", ClaudeTools = "Bash,Read", ClaudeAllowedTools = ["Read", "Bash(git diff:*)"] };

        var arguments = fixture.Claude().BuildArguments(fixture.ClaudeTurn("p") with { NewSessionId = null }, options);

        Assert.Equal(["--permission-mode=dontAsk", "--tools=Bash,Read", "--allowedTools=Read", "--allowedTools=Bash(git diff:*)"], arguments.Skip(8));
    }

    [Fact]
    public void ClaudeArguments_EmptyToolsAndASchema_PassNoToolsAndTheSchemaAsOneArgument()
    {
        const string schema = """{"type":"object","properties":{"answer":{"type":"string"}}}""";

        var arguments = fixture.Claude().BuildArguments(fixture.ClaudeTurn("p") with { NewSessionId = null, OutputSchema = schema }, new CliOptions { ClaudeTools = "" });

        Assert.Equal([$"--json-schema={schema}", "--permission-mode=default", "--tools="], arguments.Skip(8));
    }

    public static TheoryData<string, Func<CliTurn, CliTurn>> InvalidTurns => new()
    {
        { "model flag", t => t with { Model = "--help" } },
        { "model with space", t => t with { Model = "gpt 5" } },
        { "non-UUID resume", t => t with { ResumeSessionId = "--last" } },
        { "non-UUID new session", t => t with { NewSessionId = "my-session" } },
        { "relative directory", t => t with { WorkingDirectory = "conv" } },
        { "empty prompt", t => t with { Prompt = "  " } },
        { "effort with quote", t => t with { ReasoningEffort = "high\"" } },
        { "instructions with NUL", t => t with { Instructions = "a\0b" } },
        { "instructions over 120 KiB", t => t with { Instructions = new string('x', 130 * 1024) } },
        { "unknown sandbox", t => t with { Sandbox = "--dangerously-bypass-approvals-and-sandbox" } },
        { "schema not an object", t => t with { OutputSchema = "[1]" } },
        { "schema not JSON", t => t with { OutputSchema = "{type:" } },
        { "relative image path", t => t with { Images = [CliImage.File("a.png", "image/png")] } },
        { "plain http image", t => t with { Images = [CliImage.Remote("http://example.com/a.png")] } },
    };

    [Theory]
    [MemberData(nameof(InvalidTurns))]
    public async Task RunAsync_InvalidTurn_ThrowsArgumentExceptionBeforeStartingAnything(string because, Func<CliTurn, CliTurn> spoil)
    {
        var before = fixture.Logs.StartedPids.Count;
        await using var appServer = new AppServerHarness(fixture);
        var runners = new (ICliRunner, CliTurn)[]
        {
            (fixture.Codex(), fixture.CodexTurn("p")), (appServer.Runner, fixture.CodexTurn("p")), (fixture.Claude(), fixture.ClaudeTurn("p")),
        };
        foreach (var (runner, turn) in runners)
        {
            var exception = await Assert.ThrowsAsync<ArgumentException>(() => CliFixture.RunToEndAsync(runner, spoil(turn)));
            Assert.False(string.IsNullOrEmpty(exception.Message), because);
        }

        Assert.Equal(before, fixture.Logs.StartedPids.Count);
        Assert.Null(appServer.Server.ProcessId);
    }

    [Fact]
    public async Task RunAsync_TurnOfTheOtherProvider_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => CliFixture.RunToEndAsync(fixture.Codex(), fixture.ClaudeTurn("p")));
    }

    [Fact]
    public async Task RunAsync_MissingExecutable_FailsWithProviderUnavailableAndInstallHint()
    {
        var runner = fixture.Codex(o => o.CodexPath = "/nonexistent/codex");

        var events = await CliFixture.RunToEndAsync(runner, fixture.CodexTurn("p"));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.ProviderUnavailable);
        Assert.Contains("npm ci", error.Message);
    }

    [Fact]
    public void Locator_NpmLauncherPaths_ResolveToTheNativeCodexBinary()
    {
        var modules = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(fixture.Environment.ClaudePath))!, "..", "..");
        var launcher = Path.GetFullPath(Path.Combine(modules, "@openai", "codex", "bin", "codex.js"));
        var binLink = Path.GetFullPath(Path.Combine(modules, ".bin", "codex"));

        Assert.Equal(fixture.Environment.CodexPath, CliExecutableLocator.ResolveCodex(launcher).Path);
        Assert.Equal(fixture.Environment.CodexPath, CliExecutableLocator.ResolveCodex(binLink).Path);
    }

    [Fact]
    public void Locator_MissingConfiguredPath_ExplainsHowToInstall()
    {
        var result = CliExecutableLocator.ResolveClaude("/nonexistent/claude");

        Assert.False(result.Found);
        Assert.Contains("cd tools && npm ci", result.Problem);
        Assert.Contains("Cli:ClaudePath", result.Problem);
    }
}
