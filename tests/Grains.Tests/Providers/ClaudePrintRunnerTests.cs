using OrleansCodex.Grains.Conversations;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>The real <c>claude -p</c> against the stub model server.</summary>
public sealed class ClaudePrintRunnerTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task RunAsync_NewSession_StreamsEchoWithTheGivenSessionIdAndCliUsage()
    {
        var turn = fixture.ClaudeTurn("hello claude");

        var events = await CliFixture.RunToEndAsync(fixture.Claude(), turn);

        var done = TurnEvents.AssertCompleted(events);
        Assert.Equal(turn.NewSessionId, events[0].SessionId);
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: hello claude | history: -", done.Text);
        Assert.True(events.Count(e => e.Kind == TurnEventKind.TextDelta) > 1, "Claude streams token deltas");
        Assert.True(done.Usage!.InputTokens > 0 && done.Usage.OutputTokens > 0, $"usage {done.Usage}");
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("hello claude"));
        Assert.Equal(StubApi.Messages, request.Api);
        Assert.Equal(StubModelServer.ClaudeModel, request.Model);
        Assert.Equal(turn.NewSessionId, request.Headers["x-claude-code-session-id"]);
        Assert.Equal(StubModelServer.DefaultApiKey, request.PresentedKey);
    }

    [Fact]
    public async Task RunAsync_ResumedSession_SeesEarlierTurnsAndReportsItsOwnUsage()
    {
        var runner = fixture.Claude();
        var first = fixture.ClaudeTurn("alpha words");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, first));
        var resume = first with { NewSessionId = null, ResumeSessionId = first.NewSessionId };

        var secondEvents = await CliFixture.RunToEndAsync(runner, resume with { Prompt = "beta words" });
        var thirdDone = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, resume with { Prompt = "gamma words" }));

        var secondDone = TurnEvents.AssertCompleted(secondEvents);
        Assert.Equal(first.NewSessionId, secondEvents[0].SessionId);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: beta words | history: alpha words", secondDone.Text);
        Assert.Equal("ECHO turn=3 prior_assistant=2 :: gamma words | history: alpha words / beta words", thirdDone.Text);
        var thirdRequest = fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Contains("gamma words"));
        // The stub reports chars/4 of the request it got: claude -p reports that call's usage, not a running total.
        Assert.Equal((thirdRequest.Body.GetRawText().Length + 3) / 4, thirdDone.Usage!.InputTokens);
    }

    [Fact]
    public async Task RunAsync_ResumeWithNewSessionId_ForksTheSessionAndLeavesTheOriginalAlone()
    {
        var runner = fixture.Claude();
        var first = fixture.ClaudeTurn("root words");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, first));
        var fork = first with { Prompt = "fork words", ResumeSessionId = first.NewSessionId, NewSessionId = Guid.NewGuid().ToString() };

        var forkEvents = await CliFixture.RunToEndAsync(runner, fork);
        var original = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, first with
        {
            Prompt = "main words", ResumeSessionId = first.NewSessionId, NewSessionId = null,
        }));

        var forkDone = TurnEvents.AssertCompleted(forkEvents);
        Assert.Equal(fork.NewSessionId, forkEvents[0].SessionId);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: fork words | history: root words", forkDone.Text);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: main words | history: root words", original.Text);
    }

    [Fact]
    public async Task RunAsync_InstructionsStartingWithDashes_ReachTheModelAsAppendedSystemPrompt()
    {
        var turn = fixture.ClaudeTurn("with instructions") with { Instructions = "--be-brief STUB-INSTRUCTION:redowl", ReasoningEffort = "low" };

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(fixture.Claude(), turn));

        Assert.Contains("instruction=redowl", done.Text);
        var request = Assert.Single(fixture.Stub.Requests, r => r.Conversation.UserTexts.Contains("with instructions"));
        Assert.Contains("--be-brief STUB-INSTRUCTION:redowl", request.Body.GetProperty("system").GetRawText());
        Assert.Equal("low", request.Body.GetProperty("output_config").GetProperty("effort").GetString());
    }

    [Fact]
    public async Task RunAsync_UpstreamRejectsKey_FailsWithUpstreamAuthErrorNamingClaudeLogin()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Claude(), fixture.ClaudeTurn("hi", "claude-" + StubModelServer.MagicModels.Unauthorized));

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamAuth);
        Assert.Contains("run `claude`", error.Message);
        Assert.Contains("ANTHROPIC_API_KEY", error.Message);
    }

    [Fact]
    public async Task RunAsync_UpstreamRateLimits_FailsWithRateLimitExceeded()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Claude(), fixture.ClaudeTurn("hi", "claude-" + StubModelServer.MagicModels.RateLimited));

        TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamRateLimited);
    }

    [Fact]
    public async Task RunAsync_UnknownModel_FailsWithModelNotFound()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Claude(), fixture.ClaudeTurn("hi", "claude-" + StubModelServer.MagicModels.NotFound));

        TurnEvents.AssertFailed(events, TurnErrorCodes.ModelNotFound);
    }

    [Fact]
    public async Task RunAsync_UpstreamServerError_FailsWithUpstreamError()
    {
        var events = await CliFixture.RunToEndAsync(fixture.Claude(), fixture.ClaudeTurn("hi", "claude-" + StubModelServer.MagicModels.ServerError));

        TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
    }

    [Fact]
    public async Task RunAsync_StreamDropped_CompletesThroughClaudesNonStreamingFallback()
    {
        var turn = fixture.ClaudeTurn("dropped words", "claude-" + StubModelServer.MagicModels.Drop);

        var done = TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(fixture.Claude(), turn));

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: dropped words | history: -", done.Text);
        var requests = fixture.Stub.Requests.Where(r => r.Conversation.UserTexts.Contains("dropped words")).ToList();
        Assert.Contains(requests, r => r.Stream);
        Assert.Contains(requests, r => !r.Stream);
    }

    [Fact]
    public async Task RunAsync_UnknownSession_FailsWithSessionNotFound()
    {
        var turn = fixture.ClaudeTurn("hi") with { NewSessionId = null, ResumeSessionId = Guid.NewGuid().ToString() };

        var events = await CliFixture.RunToEndAsync(fixture.Claude(), turn);

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.SessionNotFound);
        Assert.Contains(turn.ResumeSessionId!, error.Message);
    }

    [Fact]
    public async Task RunAsync_ResumeFromAnotherDirectory_FailsWithSessionNotFound()
    {
        var runner = fixture.Claude();
        var first = fixture.ClaudeTurn("here");
        TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, first));

        var events = await CliFixture.RunToEndAsync(runner, first with
        {
            NewSessionId = null, ResumeSessionId = first.NewSessionId, WorkingDirectory = fixture.Environment.CreateWorkingDirectory("elsewhere"),
        });

        TurnEvents.AssertFailed(events, TurnErrorCodes.SessionNotFound);
    }
}
