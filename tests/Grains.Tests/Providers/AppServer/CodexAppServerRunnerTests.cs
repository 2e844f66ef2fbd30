using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Testing.StubModel;
using Xunit;
using ServiceProcessTree = OrleansCodex.Testing.Service.ProcessTree;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary>The real <c>codex app-server</c> against the stub model server, one app-server per test.</summary>
public sealed class CodexAppServerRunnerTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task RunAsync_NewThread_StreamsTheAnswerWordByWordAndCompletesWithUsage()
    {
        await using var app = new AppServerHarness(fixture);

        var events = await app.RunAsync(fixture.CodexTurn("hello warm codex"));

        var done = TurnEvents.AssertCompleted(events);
        Assert.True(Guid.TryParse(events[0].SessionId, out _), $"thread id {events[0].SessionId}");
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: hello warm codex | history: -", done.Text);
        // The stub streams one output_text.delta per word; exec would have sent the whole message as one delta.
        var deltas = events.Where(e => e.Kind == TurnEventKind.TextDelta).ToList();
        Assert.True(deltas.Count >= 5, $"{deltas.Count} deltas: {string.Join(" | ", deltas.Select(d => d.Text))}");
        Assert.True(done.Usage!.InputTokens > 0 && done.Usage.OutputTokens > 0, $"usage {done.Usage}");
        Assert.Equal(done.Usage, done.SessionUsage);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("hello warm codex"));
        Assert.Equal(StubModelServer.CodexModel, request.Model);
    }

    [Fact]
    public async Task RunAsync_SlowStreamCancelled_DeltasArriveWhileItRunsThenTheTurnIsInterruptedAndTheProcessServesTheNextTurn()
    {
        // Arrange
        await using var app = new AppServerHarness(fixture);
        var first = await app.CompleteAsync(fixture.CodexTurn("before the slow turn"));
        var pid = app.Pid;
        var turn = fixture.CodexTurn("slow warm words", StubModelServer.MagicModels.Slow);
        using var cancellation = new CancellationTokenSource(CliFixture.TestTimeout);
        var deltaTimes = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        await using var events = app.Runner.RunAsync(turn, cancellation.Token).GetAsyncEnumerator(cancellation.Token);

        // Act: three words of a 100-word, 30-second answer, then the caller goes away.
        while (deltaTimes.Count < 3 && await events.MoveNextAsync())
        {
            Assert.False(events.Current.IsTerminal, $"the slow turn ended early: {events.Current.Error}");
            if (events.Current.Kind == TurnEventKind.TextDelta)
            {
                deltaTimes.Add(clock.Elapsed);
            }
        }

        var stopwatch = Stopwatch.StartNew();
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await events.MoveNextAsync())
            {
            }
        });
        stopwatch.Stop();

        // Assert: the words came one by one, ~300 ms apart, long before the answer could have completed.
        Assert.Equal(3, deltaTimes.Count);
        Assert.True(deltaTimes[2] - deltaTimes[0] >= StubModelServer.MagicModels.SlowWordInterval, $"deltas at {string.Join(", ", deltaTimes)}");
        Assert.True(stopwatch.Elapsed < Prompt, $"cancellation took {stopwatch.Elapsed}");
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
        // turn/interrupt stopped the turn: the same process is alive and runs the next turn.
        Assert.Equal(pid, app.Pid);
        var next = await app.CompleteAsync(fixture.CodexTurn("after the slow turn"));
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: after the slow turn | history: -", next.Text);
        Assert.Equal(pid, app.Pid);
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: before the slow turn | history: -", first.Text);
    }

    [Fact]
    public async Task RunAsync_CancelledWhileTheProcessHangs_RestartsTheProcessGroupAfterTheGraceAndTheNextTurnResumes()
    {
        // Arrange: a turn streams, then the app-server freezes (SIGSTOP) and can no longer answer turn/interrupt.
        await using var app = new AppServerHarness(fixture);
        var first = fixture.CodexTurn("before the freeze");
        var firstEvents = await app.RunAsync(first);
        var firstDone = TurnEvents.AssertCompleted(firstEvents);
        var pid = app.Pid;
        using var cancellation = new CancellationTokenSource(CliFixture.TestTimeout);
        await using var events = app.Runner.RunAsync(fixture.CodexTurn("frozen warm words", StubModelServer.MagicModels.Slow), cancellation.Token)
            .GetAsyncEnumerator(cancellation.Token);
        while (await events.MoveNextAsync() && events.Current.Kind != TurnEventKind.TextDelta)
        {
        }

        ServiceProcessTree.Signal(pid, 19);

        // Act
        var stopwatch = Stopwatch.StartNew();
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await events.MoveNextAsync())
            {
            }
        });
        stopwatch.Stop();

        // Assert: the interrupt got no answer, so the process group was killed once the grace was over.
        Assert.InRange(stopwatch.Elapsed, CodexAppServerRunner.InterruptGrace - TimeSpan.FromMilliseconds(100), CodexAppServerRunner.InterruptGrace + TimeSpan.FromSeconds(3));
        Assert.False(ServiceProcessTree.IsRunning(pid), $"the frozen app-server pid {pid} still exists");
        Assert.Contains(fixture.Logs.Entries, e => e.Id.Id == 3152 && (int)e.Values["Pid"]! == pid);
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
        // The earlier thread resumes from its rollout in the new process.
        var next = await app.CompleteAsync(first with { Prompt = "after the freeze", ResumeSessionId = firstEvents[0].SessionId, SessionUsageBefore = firstDone.SessionUsage });
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: after the freeze | history: before the freeze", next.Text);
        Assert.NotEqual(pid, app.Pid);
    }

    [Fact]
    public async Task RunAsync_ConsumerStopsReading_InterruptsTheTurn()
    {
        await using var app = new AppServerHarness(fixture);
        using var timeout = new CancellationTokenSource(CliFixture.TestTimeout);

        await foreach (var turnEvent in app.Runner.RunAsync(fixture.CodexTurn("abandoned warm words", StubModelServer.MagicModels.Slow), timeout.Token))
        {
            if (turnEvent.Kind == TurnEventKind.TextDelta)
            {
                break;
            }
        }

        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream of the abandoned turn was not closed");
        Assert.NotNull(app.Server.ProcessId);
    }

    [Fact]
    public async Task RunAsync_ProcessGroupKilledWhileIdle_NextTurnResumesTheThreadInANewProcessWithItsHistory()
    {
        // Arrange
        await using var app = new AppServerHarness(fixture);
        var first = fixture.CodexTurn("alpha warm words");
        var firstEvents = await app.RunAsync(first);
        var firstDone = TurnEvents.AssertCompleted(firstEvents);
        var threadId = firstEvents[0].SessionId!;
        var firstPid = app.Pid;

        // Act
        await app.KillProcessGroupAsync();
        var secondEvents = await app.RunAsync(first with { Prompt = "beta warm words", ResumeSessionId = threadId, SessionUsageBefore = firstDone.SessionUsage });

        // Assert
        var secondDone = TurnEvents.AssertCompleted(secondEvents);
        Assert.Equal(threadId, secondEvents[0].SessionId);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: beta warm words | history: alpha warm words", secondDone.Text);
        Assert.NotEqual(firstPid, app.Pid);
        Assert.Equal(secondDone.SessionUsage!.InputTokens - firstDone.SessionUsage!.InputTokens, secondDone.Usage!.InputTokens);
        Assert.True(secondDone.Usage.InputTokens > 0 && secondDone.Usage.OutputTokens > 0, $"usage {secondDone.Usage}");
    }

    [Fact]
    public async Task RunAsync_ProcessGroupKilledMidTurn_FailsTheTurnWithUpstreamErrorAndTheNextTurnGetsANewProcess()
    {
        // Arrange
        await using var app = new AppServerHarness(fixture);
        using var timeout = new CancellationTokenSource(CliFixture.TestTimeout);
        var events = new List<TurnEvent>();
        var pid = 0;

        // Act
        await foreach (var turnEvent in app.Runner.RunAsync(fixture.CodexTurn("doomed warm words", StubModelServer.MagicModels.Slow), timeout.Token))
        {
            events.Add(turnEvent);
            if (turnEvent.Kind == TurnEventKind.TextDelta && pid == 0)
            {
                pid = app.Pid;
                ServiceProcessTree.Signal(-pid, 9);
            }
        }

        // Assert
        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.Contains($"app-server (pid {pid})", error.Message);
        Assert.Contains("code 137", error.Message);
        var next = await app.CompleteAsync(fixture.CodexTurn("survivor warm words"));
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: survivor warm words | history: -", next.Text);
        Assert.NotEqual(pid, app.Pid);
    }

    [Fact]
    public async Task RunAsync_UpstreamRejectsKey_FailsWithUpstreamAuthErrorNamingCodexLogin()
    {
        await using var app = new AppServerHarness(fixture);

        var events = await app.RunAsync(fixture.CodexTurn("hi", StubModelServer.MagicModels.Unauthorized));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamAuth);
        Assert.Contains("codex login", error.Message);
        Assert.Contains("401", error.Message);
        Assert.DoesNotContain("127.0.0.1", error.Message);
    }

    [Theory]
    [InlineData(StubModelServer.MagicModels.RateLimited, TurnErrorCodes.UpstreamRateLimited)]
    [InlineData(StubModelServer.MagicModels.NotFound, TurnErrorCodes.ModelNotFound)]
    [InlineData(StubModelServer.MagicModels.ServerError, TurnErrorCodes.UpstreamError)]
    [InlineData(StubModelServer.MagicModels.Drop, TurnErrorCodes.UpstreamError)]
    public async Task RunAsync_UpstreamFails_MapsToTheSameErrorAsExec(string model, string code)
    {
        await using var app = new AppServerHarness(fixture);

        var events = await app.RunAsync(fixture.CodexTurn("hi", model));

        var error = TurnEvents.AssertFailed(events, code);
        Assert.DoesNotContain("127.0.0.1", error.Message);
        // A failed turn leaves the process serving.
        Assert.NotNull(app.Server.ProcessId);
    }

    [Fact]
    public async Task RunAsync_HungStream_FailsWithTimeoutSoonAfterTheDeadline()
    {
        await using var app = new AppServerHarness(fixture);
        var turn = fixture.CodexTurn("hung warm words", StubModelServer.MagicModels.Hang) with { Timeout = TimeSpan.FromSeconds(3) };

        var stopwatch = Stopwatch.StartNew();
        var events = await app.RunAsync(turn);
        stopwatch.Stop();

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.Timeout);
        Assert.Contains("3 s", error.Message);
        Assert.InRange(stopwatch.Elapsed, turn.Timeout - TimeSpan.FromMilliseconds(100), turn.Timeout + TimeSpan.FromSeconds(3));
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
    }

    [Fact]
    public async Task RunAsync_UnknownThread_FailsWithSessionNotFound()
    {
        await using var app = new AppServerHarness(fixture);
        var turn = fixture.CodexTurn("hi") with { ResumeSessionId = Guid.NewGuid().ToString() };

        var events = await app.RunAsync(turn);

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.SessionNotFound);
        Assert.Contains(turn.ResumeSessionId!, error.Message);
    }

    [Fact]
    public async Task RunAsync_EphemeralThread_CompletesButCannotBeResumed()
    {
        await using var app = new AppServerHarness(fixture);
        var turn = fixture.CodexTurn("ephemeral warm words") with { Ephemeral = true };

        var events = await app.RunAsync(turn);
        TurnEvents.AssertCompleted(events);
        var resumed = await app.RunAsync(turn with { Ephemeral = false, ResumeSessionId = events[0].SessionId });

        TurnEvents.AssertFailed(resumed, TurnErrorCodes.SessionNotFound);
        var sessions = Path.Combine(fixture.Environment.CodexHome, "sessions");
        Assert.False(Directory.Exists(sessions) && Directory.EnumerateFiles(sessions, $"*{events[0].SessionId}*", SearchOption.AllDirectories).Any(), "an ephemeral thread wrote a rollout");
    }

    [Fact]
    public async Task RunAsync_RolloutDeletedWhileTheThreadIsLoaded_FailsWithSessionNotFoundLikeExec()
    {
        await using var app = new AppServerHarness(fixture);
        var first = fixture.CodexTurn("vanishing warm words");
        var events = await app.RunAsync(first);
        TurnEvents.AssertCompleted(events);
        var threadId = events[0].SessionId!;
        foreach (var rollout in Directory.EnumerateFiles(Path.Combine(fixture.Environment.CodexHome, "sessions"), $"*{threadId}*", SearchOption.AllDirectories))
        {
            File.Delete(rollout);
        }

        var resumed = await app.RunAsync(first with { Prompt = "still there?", ResumeSessionId = threadId });

        var error = TurnEvents.AssertFailed(resumed, TurnErrorCodes.SessionNotFound);
        Assert.Contains(threadId, error.Message);
    }

    [Fact]
    public async Task RunAsync_InstructionsAndEffort_ReachTheModel()
    {
        await using var app = new AppServerHarness(fixture);
        var turn = fixture.CodexTurn("with warm instructions") with
        {
            Instructions = "Answer \"briefly\".\n\\ STUB-INSTRUCTION:bluefinch",
            ReasoningEffort = "low",
        };

        var done = await app.CompleteAsync(turn);

        Assert.Contains("instruction=bluefinch", done.Text);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("with warm instructions"));
        Assert.Equal("low", request.Body.GetProperty("reasoning").GetProperty("effort").GetString());
        var developerTexts = request.Body.GetProperty("input").EnumerateArray()
            .Where(i => i.TryGetProperty("role", out var role) && role.GetString() == "developer")
            .SelectMany(i => i.GetProperty("content").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        Assert.Contains(turn.Instructions, developerTexts);
    }

    [Fact]
    public async Task RunAsync_PromptWithShellSyntax_ReachesTheModelVerbatim()
    {
        await using var app = new AppServerHarness(fixture);
        const string prompt = "it's $(touch pwned) `id` \"q\" & | ; > x * ~ --help - {\"id\":1}\n\"method\": \"x\"";
        var turn = fixture.CodexTurn(prompt);

        var done = await app.CompleteAsync(turn);

        Assert.Equal($"ECHO turn=1 prior_assistant=0 :: {prompt} | history: -", done.Text);
        Assert.False(File.Exists(Path.Combine(turn.WorkingDirectory, "pwned")));
    }

    [Fact]
    public async Task RunAsync_TurnsOfTwoThreadsAtOnce_RunConcurrentlyInTheOneProcess()
    {
        await using var app = new AppServerHarness(fixture);
        await app.CompleteAsync(fixture.CodexTurn("warm-up words"));
        var pid = app.Pid;

        var turns = await Task.WhenAll(
            Task.Run(() => app.RunAsync(fixture.CodexTurn("left thread words"))),
            Task.Run(() => app.RunAsync(fixture.CodexTurn("right thread words"))));

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: left thread words | history: -", TurnEvents.AssertCompleted(turns[0]).Text);
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: right thread words | history: -", TurnEvents.AssertCompleted(turns[1]).Text);
        Assert.NotEqual(turns[0][0].SessionId, turns[1][0].SessionId);
        Assert.Equal(pid, app.Pid);
        Assert.Single(fixture.Logs.Entries, e => e.Id.Id == 3150 && (int)e.Values["Pid"]! == pid);
    }

    [Fact]
    public async Task RunAsync_CodexMissing_FailsProviderUnavailableWithTheInstallHint()
    {
        await using var app = new AppServerHarness(fixture, o => o.CodexPath = "/nonexistent/codex");

        var events = await app.RunAsync(fixture.CodexTurn("hi"));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.ProviderUnavailable);
        Assert.Contains("npm ci", error.Message);
    }

    [Fact]
    public async Task DisposeAsync_AfterTurns_LeavesNoCodexProcess()
    {
        // Arrange
        var app = new AppServerHarness(fixture);
        await app.CompleteAsync(fixture.CodexTurn("last warm words"));
        var pid = app.Pid;
        var tree = ServiceProcessTree.Descendants(pid).Select(p => p.Pid).Append(pid).ToArray();
        Assert.NotEmpty(app.CodexProcesses());

        // Act
        await app.DisposeAsync();

        // Assert
        Assert.All(tree, p => Assert.False(ServiceProcessTree.IsRunning(p), $"pid {p} of the app-server's tree still runs"));
        Assert.Empty(app.CodexProcesses());
        Assert.DoesNotContain(ProcessTree.CliChildrenOfThisProcess(), p => p.StartsWith($"{pid} ", StringComparison.Ordinal));
    }
}
