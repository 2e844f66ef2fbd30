using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>The real <c>claude -p --input-format stream-json</c>, kept warm per session, against the stub model server.</summary>
[Collection(ProcessLifetimeCollection.Name)]
public sealed class ClaudeStreamRunnerTests(CliFixture fixture, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    private static readonly TimeSpan GoneTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task RunAsync_NewSession_StreamsSeveralDeltasWithTheGivenSessionIdAndUsage()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var turn = fixture.ClaudeTurn("hello warm claude");

        var events = await CliFixture.RunToEndAsync(harness.Runner, turn);

        var done = TurnEvents.AssertCompleted(events);
        Assert.Equal(turn.NewSessionId, events[0].SessionId);
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: hello warm claude | history: -", done.Text);
        Assert.True(events.Count(e => e.Kind == TurnEventKind.TextDelta) > 1, "Claude streams token deltas");
        Assert.True(done.Usage!.InputTokens > 0 && done.Usage.OutputTokens > 0, $"usage {done.Usage}");
        Assert.NotNull(harness.Pool.ProcessIdOf(turn.NewSessionId!));
    }

    [Fact]
    public async Task RunAsync_TenTurnsOfOneSession_RunInOneWarmProcessThatSeesTheGrowingHistory()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var first = fixture.ClaudeTurn("word0");
        var startedBefore = fixture.Logs.StartedPids.Count;
        var stopwatch = Stopwatch.StartNew();
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first));
        output.WriteLine($"turn 1 (process start included): {stopwatch.ElapsedMilliseconds} ms");
        var pid = harness.Pool.ProcessIdOf(first.NewSessionId!);
        Assert.NotNull(pid);

        TurnEvent done = null!;
        for (var i = 1; i < 10; i++)
        {
            stopwatch.Restart();
            done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first with
            {
                Prompt = $"word{i}", NewSessionId = null, ResumeSessionId = first.NewSessionId,
            }));
            output.WriteLine($"turn {i + 1} (warm): {stopwatch.ElapsedMilliseconds} ms");
            Assert.Equal(pid, harness.Pool.ProcessIdOf(first.NewSessionId!));
        }

        Assert.Equal(1, fixture.Logs.StartedPids.Count - startedBefore);
        Assert.Equal("ECHO turn=10 prior_assistant=9 :: word9 | history: word0 / word1 / word2 / word3 / word4 / word5 / word6 / word7 / word8", done.Text);
    }

    [Fact]
    public async Task RunAsync_AnotherModelForAWarmSession_SwitchesTheModelInTheSameProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var first = fixture.ClaudeTurn("model one");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first));
        var pid = harness.Pool.ProcessIdOf(first.NewSessionId!);

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first with
        {
            Prompt = "model two", Model = "claude-stub-other", NewSessionId = null, ResumeSessionId = first.NewSessionId,
        }));

        Assert.Equal("ECHO turn=2 prior_assistant=1 :: model two | history: model one", done.Text);
        Assert.Equal(pid, harness.Pool.ProcessIdOf(first.NewSessionId!));
        Assert.Equal("claude-stub-other", fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Contains("model two")).Model);
    }

    [Fact]
    public async Task RunAsync_OtherInstructionsForAWarmSession_ResumeTheSessionInANewProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var first = fixture.ClaudeTurn("plain turn");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first));
        var pid = harness.Pool.ProcessIdOf(first.NewSessionId!)!.Value;

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first with
        {
            Prompt = "instructed turn", Instructions = "STUB-INSTRUCTION:owl", NewSessionId = null, ResumeSessionId = first.NewSessionId,
        }));

        Assert.Equal("ECHO turn=2 prior_assistant=1 instruction=owl :: instructed turn | history: plain turn", done.Text);
        Assert.NotEqual(pid, harness.Pool.ProcessIdOf(first.NewSessionId!));
        await AssertGoneAsync([pid]);
    }

    [Fact]
    public async Task RunAsync_Fork_StartsTheNewSessionWithTheHistoryAndKeepsTheOriginal()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var first = fixture.ClaudeTurn("root words");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first));
        var fork = first with { Prompt = "fork words", ResumeSessionId = first.NewSessionId, NewSessionId = Guid.NewGuid().ToString() };

        var forkEvents = await CliFixture.RunToEndAsync(harness.Runner, fork);
        var original = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first with
        {
            Prompt = "main words", ResumeSessionId = first.NewSessionId, NewSessionId = null,
        }));

        Assert.Equal(fork.NewSessionId, forkEvents[0].SessionId);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: fork words | history: root words", TurnEvents.AssertCompleted(forkEvents).Text);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: main words | history: root words", original.Text);
        Assert.Equal(2, harness.Pool.Count);
    }

    [Fact]
    public async Task RunAsync_Ephemeral_RunsInAOneShotProcessThatEndsWithTheTurn()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var startedBefore = fixture.Logs.StartedPids.Count;

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, fixture.ClaudeTurn("ephemeral words") with
        {
            NewSessionId = null, Ephemeral = true,
        }));

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: ephemeral words | history: -", done.Text);
        Assert.Equal(0, harness.Pool.Count);
        await AssertGoneAsync(fixture.Logs.StartedPids.Skip(startedBefore));
    }

    [Fact]
    public async Task RunAsync_CancelledMidStream_StopsAfterTheFirstDeltasAndLeavesNoProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var startedBefore = fixture.Logs.StartedPids.Count;
        for (var i = 0; i < 3; i++)
        {
            var turn = fixture.ClaudeTurn($"slow words {i}", "claude-" + StubModelServer.MagicModels.Slow);
            using var cancellation = new CancellationTokenSource(CliFixture.TestTimeout);
            var deltas = 0;
            var stopwatch = Stopwatch.StartNew();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var turnEvent in harness.Runner.RunAsync(turn, cancellation.Token))
                {
                    Assert.False(turnEvent.IsTerminal, "the slow answer takes 30 s; the turn must not end before it is cancelled");
                    if (turnEvent.Kind == TurnEventKind.TextDelta && ++deltas == 3)
                    {
                        stopwatch.Restart();
                        await cancellation.CancelAsync();
                    }
                }
            });

            output.WriteLine($"cancelled turn {i} ended {stopwatch.ElapsedMilliseconds} ms after the cancellation");
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"took {stopwatch.Elapsed}");
        }

        Assert.Equal(0, harness.Pool.Count);
        await AssertGoneAsync(fixture.Logs.StartedPids.Skip(startedBefore));
    }

    [Fact]
    public async Task RunAsync_HungStreamPastTheDeadline_FailsWithTimeoutAndLeavesNoProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var startedBefore = fixture.Logs.StartedPids.Count;
        var turn = fixture.ClaudeTurn("hung words", "claude-" + StubModelServer.MagicModels.Hang) with { Timeout = TimeSpan.FromSeconds(4) };
        var stopwatch = Stopwatch.StartNew();

        var error = TurnEvents.AssertFailed(await CliFixture.RunToEndAsync(harness.Runner, turn), TurnErrorCodes.Timeout);

        Assert.Contains("within 4 s", error.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(25), $"took {stopwatch.Elapsed}");
        Assert.Equal(0, harness.Pool.Count);
        await AssertGoneAsync(fixture.Logs.StartedPids.Skip(startedBefore));
    }

    [Fact]
    public async Task RunAsync_SilentStreamPastTheIdleTimeout_FailsWithTimeoutLongBeforeTheDeadline()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var startedBefore = fixture.Logs.StartedPids.Count;
        var turn = fixture.ClaudeTurn("silent words", "claude-" + StubModelServer.MagicModels.Hang) with { IdleTimeout = TimeSpan.FromSeconds(3) };
        var stopwatch = Stopwatch.StartNew();

        var error = TurnEvents.AssertFailed(await CliFixture.RunToEndAsync(harness.Runner, turn), TurnErrorCodes.Timeout);

        Assert.Contains("sent nothing for 3 s", error.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(25), $"took {stopwatch.Elapsed}");
        await AssertGoneAsync(fixture.Logs.StartedPids.Skip(startedBefore));
    }

    [Fact]
    public async Task RunAsync_WarmProcessKilledBetweenTurns_NextTurnResumesTheSessionInANewProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var first = fixture.ClaudeTurn("before crash");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first));
        var pid = harness.Pool.ProcessIdOf(first.NewSessionId!)!.Value;

        // Claude writes its transcript a moment after the result; a crash before that loses the turn (the conversation then
        // starts a fresh session seeded with its transcript). This test is about the crash after it.
        await WaitForTranscriptAsync(first.NewSessionId!, "ECHO turn=1");
        Process.GetProcessById(pid).Kill();
        await AssertGoneAsync([pid]);
        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, first with
        {
            Prompt = "after crash", NewSessionId = null, ResumeSessionId = first.NewSessionId,
        }));

        Assert.Equal("ECHO turn=2 prior_assistant=1 :: after crash | history: before crash", done.Text);
        Assert.NotEqual(pid, harness.Pool.ProcessIdOf(first.NewSessionId!));
    }

    [Fact]
    public async Task RunAsync_WarmProcessKilledMidTurn_FailsThatTurnClearly()
    {
        await using var harness = new ClaudeStreamHarness(fixture);
        var turn = fixture.ClaudeTurn("crash words", "claude-" + StubModelServer.MagicModels.Slow);
        using var timeout = new CancellationTokenSource(CliFixture.TestTimeout);
        var events = new List<TurnEvent>();

        await foreach (var turnEvent in harness.Runner.RunAsync(turn, timeout.Token))
        {
            events.Add(turnEvent);
            if (turnEvent.Kind == TurnEventKind.TextDelta && events.Count(e => e.Kind == TurnEventKind.TextDelta) == 2)
            {
                Process.GetProcessById(harness.Pool.ProcessIdOf(turn.NewSessionId!)!.Value).Kill();
            }
        }

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.Contains("without a result", error.Message);
        Assert.Equal(0, harness.Pool.Count);
    }

    [Fact]
    public async Task RunAsync_MoreSessionsThanClaudeProcesses_EndsTheLeastRecentlyUsedIdleProcess()
    {
        await using var harness = new ClaudeStreamHarness(fixture, workers: new WorkerOptions { Claude = 1, ClaudeProcesses = 2 });
        var turns = Enumerable.Range(0, 3).Select(i => fixture.ClaudeTurn($"session {i}")).ToList();
        var pids = new List<int>();
        foreach (var turn in turns)
        {
            TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, turn));
            pids.Add(harness.Pool.ProcessIdOf(turn.NewSessionId!)!.Value);
        }

        Assert.Equal(2, harness.Pool.Count);
        Assert.Null(harness.Pool.ProcessIdOf(turns[0].NewSessionId!));
        await AssertGoneAsync([pids[0]]);
        Assert.True(ProcessTree.IsRunning(pids[2]));
        var resumed = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, turns[0] with
        {
            Prompt = "session 0 again", NewSessionId = null, ResumeSessionId = turns[0].NewSessionId,
        }));
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: session 0 again | history: session 0", resumed.Text);
    }

    [Fact]
    public async Task Pool_ProcessIdleLongerThanProcessIdleTimeout_IsEnded()
    {
        await using var harness = new ClaudeStreamHarness(fixture, workers: new WorkerOptions { ProcessIdleTimeout = TimeSpan.FromSeconds(1) });
        var turn = fixture.ClaudeTurn("soon idle");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, turn));
        var pid = harness.Pool.ProcessIdOf(turn.NewSessionId!)!.Value;

        await AssertGoneAsync([pid]);

        Assert.Equal(0, harness.Pool.Count);
    }

    [Fact]
    public async Task Pool_Disposed_EndsEveryProcess()
    {
        var harness = new ClaudeStreamHarness(fixture);
        var pids = new List<int>();
        foreach (var turn in new[] { fixture.ClaudeTurn("one of two"), fixture.ClaudeTurn("two of two") })
        {
            TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, turn));
            pids.Add(harness.Pool.ProcessIdOf(turn.NewSessionId!)!.Value);
        }

        await harness.DisposeAsync();

        await AssertGoneAsync(pids);
    }

    [Fact]
    public async Task RunAsync_ServerWithoutTools_SendsNoToolsUpstream()
    {
        await using var harness = new ClaudeStreamHarness(fixture, o => o.ClaudeTools = "");

        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(harness.Runner, fixture.ClaudeTurn("no tools here")));

        var request = fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Contains("no tools here"));
        Assert.False(request.Body.TryGetProperty("tools", out var tools) && tools.GetArrayLength() > 0, $"tools: {tools}");
    }

    /// <summary>Waits (bounded) until Claude's transcript of <paramref name="sessionId"/> holds <paramref name="text"/>.</summary>
    private async Task WaitForTranscriptAsync(string sessionId, string text)
    {
        var projects = Path.Combine(fixture.Environment.ClaudeConfigDirectory, "projects");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < GoneTimeout)
        {
            var file = Directory.Exists(projects) ? Directory.EnumerateFiles(projects, sessionId + ".jsonl", SearchOption.AllDirectories).FirstOrDefault() : null;
            if (file is not null && (await File.ReadAllTextAsync(file)).Contains(text, StringComparison.Ordinal))
            {
                output.WriteLine($"transcript written {deadline.ElapsedMilliseconds} ms after the turn");
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Claude did not write the transcript of {sessionId} within {GoneTimeout}.");
    }

    /// <summary>Waits (bounded) until none of <paramref name="pids"/> nor any of their descendants runs.</summary>
    private static async Task AssertGoneAsync(IEnumerable<int> pids)
    {
        var list = pids.ToList();
        var descendants = list.SelectMany(ProcessTree.Descendants).ToList();
        var deadline = Stopwatch.StartNew();
        while (list.Concat(descendants).Any(ProcessTree.IsRunning) && deadline.Elapsed < GoneTimeout)
        {
            await Task.Delay(100);
        }

        Assert.DoesNotContain(list.Concat(descendants), ProcessTree.IsRunning);
    }
}
