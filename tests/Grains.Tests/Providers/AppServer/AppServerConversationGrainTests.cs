using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Tests.HostedConversations;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary>A grain host whose Codex turns run in the warm app-server (<c>Cli:CodexMode=AppServer</c>).</summary>
public sealed class AppServerHostFixture : ConversationHostFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Cli:CodexMode", "AppServer")];
}

/// <summary>The conversation grain's contract with a Codex runner holds for the app-server: resume, usage, lost sessions, cancellation.</summary>
public sealed class AppServerConversationGrainTests(AppServerHostFixture host) : IClassFixture<AppServerHostFixture>
{
    /// <summary>The log event of <c>ConversationGrain</c> for a resumed session whose files were gone.</summary>
    private const int SessionLostEvent = 2002;

    /// <summary>The log event of an app-server start.</summary>
    private const int AppServerStartedEvent = 3150;

    [Fact]
    public async Task RunTurn_ThreeTurnsContinuingTheHead_ResumeTheThreadAndStoreEachTurnsOwnUsage()
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "warm alpha words");
        var second = Turns.Request(conversation, Turns.Codex, "warm beta words", previousResponseId: first.ResponseId);
        var third = Turns.Request(conversation, Turns.Codex, "warm gamma words", previousResponseId: second.ResponseId);

        // Act
        var firstDone = await host.CompleteTurnAsync(first);
        var secondDone = await host.CompleteTurnAsync(second);
        var thirdDone = await host.CompleteTurnAsync(third);

        // Assert
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: warm alpha words | history: -", firstDone.Text);
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: warm beta words | history: warm alpha words", secondDone.Text);
        Assert.Equal("ECHO turn=3 prior_assistant=2 :: warm gamma words | history: warm alpha words / warm beta words", thirdDone.Text);
        var grain = host.Conversation(conversation);
        foreach (var (request, done) in new[] { (first, firstDone), (second, secondDone), (third, thirdDone) })
        {
            var stored = await grain.GetResponse(request.ResponseId);
            Assert.Equal(ResponseStatus.Completed, stored?.Status);
            Assert.Equal(done.Text, stored!.OutputText);
            Assert.True(stored.Usage!.InputTokens > 0 && stored.Usage.OutputTokens > 0, $"usage {stored.Usage}");
            Assert.Equal(done.Usage, stored.Usage);
        }

        // Each turn's own usage: later turns carry more history, and none is the thread's running total.
        Assert.True(thirdDone.Usage!.InputTokens > firstDone.Usage!.InputTokens);
        Assert.True(thirdDone.Usage.InputTokens < firstDone.Usage.InputTokens + secondDone.Usage!.InputTokens + thirdDone.Usage.InputTokens);
        Assert.Single(host.Logs.Entries, e => e.Id.Id == AppServerStartedEvent);
    }

    [Fact]
    public async Task RunTurn_SessionFilesDeletedBetweenTurns_CompletesInAFreshSessionSeededWithTheTranscript()
    {
        // Arrange: the thread stays loaded in the app-server, but its rollout is gone, as it would be after a restart.
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "warm lost alpha words");
        await host.CompleteTurnAsync(first);
        foreach (var rollout in Directory.EnumerateFiles(Path.Combine(host.Cli.CodexHome, "sessions"), "*.jsonl", SearchOption.AllDirectories))
        {
            File.Delete(rollout);
        }

        var second = Turns.Request(conversation, Turns.Codex, "warm lost beta words", previousResponseId: first.ResponseId);

        // Act
        var secondDone = await host.CompleteTurnAsync(second);

        // Assert
        Assert.Single(host.Logs.ForConversation(SessionLostEvent, conversation));
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: ", secondDone.Text);
        Assert.Contains("ECHO turn=1 prior_assistant=0 :: warm lost alpha words", secondDone.Text);
        Assert.Contains("warm lost beta words", secondDone.Text);
    }

    [Fact]
    public async Task RunTurn_ClientCancelsASlowTurn_StoredCancelledAndTheConversationGoesOn()
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "warm steady words");
        await host.CompleteTurnAsync(first);
        var slow = Turns.Request(conversation, StubModelServer.MagicModels.Slow, "warm slow words", previousResponseId: first.ResponseId);
        using var cancellation = new CancellationTokenSource(ConversationHostFixture.Wait);
        var deltas = 0;

        // Act
        var stopwatch = new Stopwatch();
        var grain = host.Conversation(conversation);
        Assert.Null((await grain.Start(slow, cancellation.Token)).Error);
        TurnEvent? terminal = null;
        await foreach (var turnEvent in grain.Watch(slow.ResponseId, -1, cancellation.Token))
        {
            if (turnEvent.Kind == TurnEventKind.TextDelta && ++deltas == 2)
            {
                stopwatch.Start();
                Assert.True(await grain.Cancel(slow.ResponseId));
            }

            terminal = turnEvent.IsTerminal ? turnEvent : terminal;
        }

        stopwatch.Stop();
        var next = await host.CompleteTurnAsync(Turns.Request(conversation, Turns.Codex, "warm after words", previousResponseId: first.ResponseId));

        // Assert: token deltas streamed through the grain, the cancelled turn was interrupted promptly and stored as cancelled.
        Assert.Equal(TurnErrorCodes.Cancelled, terminal?.Error?.Code);
        Assert.Equal(ResponseStatus.Cancelled, terminal?.Response?.Status);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {stopwatch.Elapsed}");
        Assert.Equal(ResponseStatus.Cancelled, (await host.Conversation(conversation).GetResponse(slow.ResponseId))?.Status);
        Assert.True(await host.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(5)), "the slow stream was not closed");
        // The grain forgot the session the cancelled turn touched: the next turn is a fresh thread seeded with the transcript.
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: ", next.Text);
        Assert.Contains("warm steady words", next.Text);
        Assert.DoesNotContain("warm slow words", next.Text);
    }

    [Fact]
    public async Task RunTurn_StoreFalse_RunsInAnEphemeralThread()
    {
        var conversation = ResponseIds.NewConversationId();
        var rolloutsBefore = Rollouts();

        var done = await host.CompleteTurnAsync(Turns.Request(conversation, Turns.Codex, "warm unkept words", store: false));

        Assert.Equal("ECHO turn=1 prior_assistant=0 :: warm unkept words | history: -", done.Text);
        Assert.Equal(rolloutsBefore, Rollouts());
    }

    private int Rollouts()
    {
        var sessions = Path.Combine(host.Cli.CodexHome, "sessions");
        return Directory.Exists(sessions) ? Directory.EnumerateFiles(sessions, "*.jsonl", SearchOption.AllDirectories).Count() : 0;
    }
}
