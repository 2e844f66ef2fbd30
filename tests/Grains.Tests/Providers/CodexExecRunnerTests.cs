using OrleansCodex.Grains.Conversations;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>The real <c>codex exec</c> against the stub model server.</summary>
public sealed class CodexExecRunnerTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task RunAsync_NewThread_CompletesWithEchoAndCliUsage()
    {
        var runner = fixture.Codex();

        var events = await CliFixture.RunToEndAsync(runner, fixture.CodexTurn("hello codex"));

        var done = TurnEvents.AssertCompleted(events);
        Assert.True(Guid.TryParse(events[0].SessionId, out _), $"thread id {events[0].SessionId}");
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: hello codex | history: -", done.Text);
        Assert.True(done.Usage!.InputTokens > 0 && done.Usage.OutputTokens > 0, $"usage {done.Usage}");
        Assert.Equal(done.Usage, done.SessionUsage);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("hello codex"));
        Assert.Equal(StubModelServer.CodexModel, request.Model);
        Assert.Equal(StubModelServer.DefaultApiKey, request.PresentedKey);
    }

    [Fact]
    public async Task RunAsync_ResumedThread_SeesEarlierTurnsAndReportsOnlyTheTurnsUsage()
    {
        var runner = fixture.Codex();
        var first = fixture.CodexTurn("alpha words");
        var firstEvents = await CliFixture.RunToEndAsync(runner, first);
        var firstDone = TurnEvents.AssertCompleted(firstEvents);
        var threadId = firstEvents[0].SessionId!;

        var secondEvents = await CliFixture.RunToEndAsync(runner, first with
        {
            Prompt = "beta words", ResumeSessionId = threadId, SessionUsageBefore = firstDone.SessionUsage,
        });
        var secondDone = TurnEvents.AssertCompleted(secondEvents);
        var thirdEvents = await CliFixture.RunToEndAsync(runner, first with
        {
            Prompt = "gamma words", ResumeSessionId = threadId, SessionUsageBefore = secondDone.SessionUsage,
        });
        var thirdDone = TurnEvents.AssertCompleted(thirdEvents);

        Assert.Equal(threadId, secondEvents[0].SessionId);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: beta words | history: alpha words", secondDone.Text);
        Assert.Equal("ECHO turn=3 prior_assistant=2 :: gamma words | history: alpha words / beta words", thirdDone.Text);
        // Codex reports the thread's running total; the turn's usage is the difference.
        Assert.Equal(secondDone.SessionUsage!.InputTokens - firstDone.SessionUsage!.InputTokens, secondDone.Usage!.InputTokens);
        Assert.Equal(secondDone.SessionUsage.OutputTokens - firstDone.SessionUsage.OutputTokens, secondDone.Usage.OutputTokens);
        Assert.True(secondDone.Usage.InputTokens > 0 && secondDone.Usage.InputTokens < secondDone.SessionUsage.InputTokens);
    }

    [Fact]
    public async Task RunAsync_InstructionsAndEffort_ReachTheModel()
    {
        var runner = fixture.Codex();
        var turn = fixture.CodexTurn("with instructions") with
        {
            Instructions = "Answer \"briefly\".\n\\ STUB-INSTRUCTION:tealheron",
            ReasoningEffort = "low",
        };

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, turn));

        Assert.Contains("instruction=tealheron", done.Text);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("with instructions"));
        Assert.Equal("low", request.Body.GetProperty("reasoning").GetProperty("effort").GetString());
        var developerTexts = request.Body.GetProperty("input").EnumerateArray()
            .Where(i => i.TryGetProperty("role", out var role) && role.GetString() == "developer")
            .SelectMany(i => i.GetProperty("content").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        Assert.Contains(turn.Instructions, developerTexts);
    }

    [Fact]
    public async Task RunAsync_PromptWithShellSyntax_ReachesTheModelVerbatim()
    {
        const string prompt = "it's $(touch pwned) `id` \"q\" & | ; > x * ~ --help -";
        var turn = fixture.CodexTurn(prompt);

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(fixture.Codex(), turn));

        Assert.Equal($"ECHO turn=1 prior_assistant=0 :: {prompt} | history: -", done.Text);
        Assert.False(File.Exists(Path.Combine(turn.WorkingDirectory, "pwned")));
    }

    [Fact]
    public async Task RunAsync_UpstreamRejectsKey_FailsWithUpstreamAuthErrorNamingCodexLogin()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Codex(), fixture.CodexTurn("hi", StubModelServer.MagicModels.Unauthorized));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamAuth);
        Assert.Contains("codex login", error.Message);
        Assert.Contains("401", error.Message);
        Assert.DoesNotContain("127.0.0.1", error.Message);
    }

    [Fact]
    public async Task RunAsync_UpstreamRateLimits_FailsWithRateLimitExceeded()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Codex(), fixture.CodexTurn("hi", StubModelServer.MagicModels.RateLimited));

        TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamRateLimited);
    }

    [Fact]
    public async Task RunAsync_UnknownModel_FailsWithModelNotFound()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Codex(), fixture.CodexTurn("hi", StubModelServer.MagicModels.NotFound));

        TurnEvents.AssertFailed(events, TurnErrorCodes.ModelNotFound);
    }

    [Fact]
    public async Task RunAsync_UpstreamServerError_FailsWithUpstreamError()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Codex(), fixture.CodexTurn("hi", StubModelServer.MagicModels.ServerError));

        TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
    }

    [Fact]
    public async Task RunAsync_StreamDropped_FailsWithUpstreamError()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Codex(), fixture.CodexTurn("hi", StubModelServer.MagicModels.Drop));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.Contains("stream disconnected", error.Message);
    }

    [Fact]
    public async Task RunAsync_UnknownThread_FailsWithSessionNotFound()
    {
        var turn = fixture.CodexTurn("hi") with { ResumeSessionId = Guid.NewGuid().ToString() };

        var events = await CliFixture.RunToEndAsync(fixture.Codex(), turn);

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.SessionNotFound);
        Assert.Contains(turn.ResumeSessionId!, error.Message);
    }

    [Fact]
    public async Task RunAsync_EphemeralThread_CompletesButCannotBeResumed()
    {
        var runner = fixture.Codex();
        var turn = fixture.CodexTurn("ephemeral words") with { Ephemeral = true };

        var events = await CliFixture.RunToEndAsync(runner, turn);
        TurnEvents.AssertCompleted(events);
        var resumed = await CliFixture.RunToEndAsync(runner, turn with { Ephemeral = false, ResumeSessionId = events[0].SessionId });

        TurnEvents.AssertFailed(resumed, TurnErrorCodes.SessionNotFound);
    }
}
