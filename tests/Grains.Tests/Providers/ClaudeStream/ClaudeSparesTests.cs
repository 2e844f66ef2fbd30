using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>Claude processes started ahead of any turn: a new conversation's first turn takes one instead of waiting for Claude's start.</summary>
[Collection(ProcessLifetimeCollection.Name)]
public sealed class ClaudeSparesTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private static readonly TimeSpan GoneTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task FillAsync_StartsASpareOfEachKindInItsOwnDirectory_DisposeEndsThemAndRemovesTheDirectories()
    {
        var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var pids = harness.Spares.ProcessIds;
        var directories = harness.Spares.Directories;

        Assert.Equal(2, pids.Count);
        Assert.All(pids, pid => Assert.True(ProcessTree.IsRunning(pid)));
        Assert.Equal(2, directories.Count);
        Assert.All(directories, d => Assert.True(Directory.Exists(d)));

        await harness.DisposeAsync();

        await AssertGoneAsync(pids);
        Assert.All(directories, d => Assert.False(Directory.Exists(d), $"{d} is left"));
    }

    [Theory]
    [InlineData(true, ClaudeMode.Stream, "codex,claude", 1, true)]
    [InlineData(false, ClaudeMode.Stream, "codex,claude", 1, false)]
    [InlineData(true, ClaudeMode.Print, "codex,claude", 1, false)]
    [InlineData(true, ClaudeMode.Stream, "codex", 1, false)]
    [InlineData(true, ClaudeMode.Stream, "claude", 0, false)]
    public async Task Prewarmer_Start_StartsTheSparesOnlyWhenTheNodeKeepsClaudeWarm(bool prewarm, ClaudeMode mode, string providers, int count, bool starts)
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var prewarmer = new ClaudeSparesPrewarmer(harness.Spares, Options.Create(new WorkerOptions { Prewarm = prewarm, ClaudeSpares = count }),
            Options.Create(new CliOptions { ClaudeMode = mode }), ServedProviders.Parse(providers));

        await prewarmer.StartAsync(CancellationToken.None);

        Assert.Equal(starts, prewarmer.Enabled);
        var deadline = Stopwatch.StartNew();
        while (starts && harness.Spares.Count < 2 && deadline.Elapsed < GoneTimeout)
        {
            await Task.Delay(50);
        }

        Assert.Equal(starts ? 2 : 0, harness.Spares.Count);
    }

    [Fact]
    public async Task RunAsync_FirstTurnOfAFreshConversation_RunsInTheSpare_ReportsItsSessionAndDirectory_AndResumesThere()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var spares = harness.Spares.ProcessIds;
        var turn = fixture.ClaudeTurn("spare words") with { FreshWorkingDirectory = true };

        var events = await CliFixture.RunToEndAsync(harness.Runner, turn);

        var done = TurnEvents.AssertCompleted(events);
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: spare words | history: -", done.Text);
        var session = events[0];
        Assert.Equal(TurnEventKind.SessionStarted, session.Kind);
        Assert.NotEqual(turn.NewSessionId, session.SessionId);
        Assert.NotEqual(turn.WorkingDirectory, session.WorkingDirectory);
        Assert.Equal(harness.WorkRoot, Path.GetDirectoryName(session.WorkingDirectory));
        Assert.StartsWith(ClaudeSpares.DirectoryPrefix, Path.GetFileName(session.WorkingDirectory));
        var pid = harness.Pool.ProcessIdOf(session.SessionId!);
        Assert.Contains(pid!.Value, spares);

        var next = turn with
        {
            Prompt = "more words", NewSessionId = null, ResumeSessionId = session.SessionId, WorkingDirectory = session.WorkingDirectory!,
            FreshWorkingDirectory = false,
        };
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: more words | history: spare words",
            TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, next)).Text);
        Assert.Equal(pid, harness.Pool.ProcessIdOf(session.SessionId!));

        // The session's files are in the spare's directory: a new process resumes it from there.
        await using var restarted = new ClaudeStreamHarness(fixture);
        Assert.Equal("ECHO turn=3 prior_assistant=2 :: after restart | history: spare words / more words",
            TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(restarted.Runner, next with { Prompt = "after restart" })).Text);
    }

    [Fact]
    public async Task RunAsync_TakingASpare_StartsItsReplacement()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var before = harness.Spares.ProcessIds;

        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, fixture.ClaudeTurn("take one") with { FreshWorkingDirectory = true }));
        await harness.Spares.FillAsync();

        var after = harness.Spares.ProcessIds;
        Assert.Equal(2, after.Count);
        Assert.Single(after.Except(before));
    }

    [Fact]
    public async Task RunAsync_SpareForATurnWithInstructionsSchemaAndAnotherModel_IsInitializedAsTheFlagsWould()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var spares = harness.Spares.ProcessIds;
        var instructed = fixture.ClaudeTurn("instructed spare", "claude-stub-other") with
        {
            FreshWorkingDirectory = true, Instructions = "STUB-INSTRUCTION:owl",
        };
        var structured = fixture.ClaudeTurn("structured spare") with
        {
            FreshWorkingDirectory = true, OutputSchema = """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""",
        };

        var instructedEvents = await CliFixture.RunToEndAsync(harness.Runner, instructed);
        var structuredDone = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, structured));

        Assert.Equal("ECHO turn=1 prior_assistant=0 instruction=owl :: instructed spare | history: -", TurnEvents.AssertCompleted(instructedEvents).Text);
        Assert.Contains(harness.Pool.ProcessIdOf(instructedEvents[0].SessionId!)!.Value, spares);
        Assert.Equal("claude-stub-other", fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Contains("instructed spare")).Model);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"answer":"stub"}"""), JsonNode.Parse(structuredDone.Text!)), $"got {structuredDone.Text}");
        Assert.Contains(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("structured spare")
            && r.Body.GetProperty("tools").EnumerateArray().Any(t => t.GetProperty("name").GetString() == StubStructuredOutput.ToolName));
    }

    [Fact]
    public async Task RunAsync_EphemeralTurnOfAFreshConversation_TakesTheOneShotSpareAndLeavesNoProcessOrDirectory()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var spares = harness.Spares.ProcessIds;
        var directories = harness.Spares.Directories;
        var turn = fixture.ClaudeTurn("ephemeral spare") with { NewSessionId = null, Ephemeral = true, FreshWorkingDirectory = true };

        var events = await CliFixture.RunToEndAsync(harness.Runner, turn);

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: ephemeral spare | history: -", TurnEvents.AssertCompleted(events).Text);
        var used = Assert.Single(directories, d => d == events[0].WorkingDirectory);
        var usedPid = Assert.Single(spares, pid => !harness.Spares.ProcessIds.Contains(pid));
        await AssertGoneAsync([usedPid]);
        Assert.False(Directory.Exists(used), "the one-shot spare's empty directory is removed");
        Assert.Equal(0, harness.Pool.Count);
    }

    [Fact]
    public async Task RunAsync_TurnsThatCannotTakeASpare_StartTheirOwnProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        var spares = harness.Spares.ProcessIds;
        var turns = new[]
        {
            fixture.ClaudeTurn("not fresh"),
            fixture.ClaudeTurn("with effort") with { FreshWorkingDirectory = true, ReasoningEffort = "high" },
            fixture.ClaudeTurn("other root", workingDirectory: Directory.CreateDirectory(Path.Combine(fixture.Environment.RootDirectory, "elsewhere", "c")).FullName)
                with { FreshWorkingDirectory = true },
        };

        foreach (var turn in turns)
        {
            var events = await CliFixture.RunToEndAsync(harness.Runner, turn);
            TurnEvents.AssertCompleted(events);
            Assert.Equal(turn.NewSessionId, events[0].SessionId);
            Assert.Equal(turn.WorkingDirectory, events[0].WorkingDirectory);
        }

        Assert.Equal(spares.Order(), harness.Spares.ProcessIds.Order());
    }

    [Fact]
    public async Task RunAsync_SpareKilledBeforeTheTurn_TheTurnStillCompletes()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        await harness.Spares.FillAsync();
        foreach (var pid in harness.Spares.ProcessIds)
        {
            Process.GetProcessById(pid).Kill();
        }

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, fixture.ClaudeTurn("after the spares died") with { FreshWorkingDirectory = true }));

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: after the spares died | history: -", done.Text);
    }

    [Fact]
    public async Task Sweep_SpareOlderThanProcessIdleTimeout_IsReplaced()
    {
        await using var harness = new ClaudeStreamHarness(fixture, workers: new WorkerOptions { ProcessIdleTimeout = TimeSpan.FromSeconds(1) });
        await harness.Spares.FillAsync();
        var first = harness.Spares.ProcessIds;

        await AssertGoneAsync(first);

        var deadline = Stopwatch.StartNew();
        while (harness.Spares.ProcessIds.Count < 2 && deadline.Elapsed < GoneTimeout)
        {
            await Task.Delay(100);
        }

        Assert.Equal(2, harness.Spares.ProcessIds.Count);
        Assert.Empty(harness.Spares.ProcessIds.Intersect(first));
    }

    private static async Task AssertGoneAsync(IEnumerable<int> pids)
    {
        var list = pids.ToList();
        var deadline = Stopwatch.StartNew();
        while (list.Any(ProcessTree.IsRunning) && deadline.Elapsed < GoneTimeout)
        {
            await Task.Delay(100);
        }

        Assert.DoesNotContain(list, ProcessTree.IsRunning);
    }
}
