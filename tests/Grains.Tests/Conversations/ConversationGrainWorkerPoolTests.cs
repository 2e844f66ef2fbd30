using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>A host with a single Codex worker and a one-second queue timeout.</summary>
public sealed class SingleWorkerHostFixture : ConversationHostFixture
{
    public static readonly TimeSpan QueueTimeout = TimeSpan.FromSeconds(1);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Workers:Codex", "1"),
        new("Workers:QueueTimeout", "00:00:01"),
    ];
}

/// <summary>What conversations see when the node's CLI workers are all busy.</summary>
public sealed class ConversationGrainWorkerPoolTests(SingleWorkerHostFixture host) : IClassFixture<SingleWorkerHostFixture>
{
    [Fact]
    public async Task RunTurn_OnlyWorkerBusyPastTheQueueTimeout_FailsOverloadedAndTheCancelledTurnFreesTheWorker()
    {
        // Arrange: a slow turn holds the only Codex worker.
        var slowConversation = ResponseIds.NewConversationId();
        var slow = Turns.Request(slowConversation, StubModelServer.MagicModels.Slow, "slow words");
        using var cancelSlow = new CancellationTokenSource(ConversationHostFixture.Wait);
        var slowTurn = Task.Run(() => host.RunTurnAsync(slow, cancelSlow.Token));
        await ConversationHostFixture.WaitUntilAsync(
            () => Task.FromResult(slowTurn.IsCompleted || host.Stub.RequestsFor(StubModelServer.MagicModels.Slow).Count > 0),
            "the slow turn's CLI called the stub");
        Assert.False(slowTurn.IsCompleted, "the slow turn ended early");
        var otherConversation = ResponseIds.NewConversationId();
        var waiting = Turns.Request(otherConversation, Turns.Codex, "waiting words");

        // Act
        var stopwatch = Stopwatch.StartNew();
        var waitingEvents = await host.RunTurnAsync(waiting);
        stopwatch.Stop();
        await cancelSlow.CancelAsync();
        var slowOutcome = await Record.ExceptionAsync(() => slowTurn);

        // Assert: the waiting turn gave up after the queue timeout and is stored as failed.
        var error = Turns.AssertFailed(waitingEvents, TurnErrorCodes.Overloaded);
        Assert.Contains("busy", error.Message);
        Assert.InRange(stopwatch.Elapsed, SingleWorkerHostFixture.QueueTimeout - TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(3));
        var storedWaiting = await host.Conversation(otherConversation).GetResponse(waiting.ResponseId);
        Assert.Equal(ResponseStatus.Failed, storedWaiting?.Status);
        Assert.Equal(TurnErrorCodes.Overloaded, storedWaiting!.Error?.Code);

        // The caller's cancellation ended the slow turn, which is stored as cancelled.
        Assert.IsAssignableFrom<OperationCanceledException>(slowOutcome);
        var storedSlow = await host.Conversation(slowConversation).GetResponse(slow.ResponseId);
        Assert.Equal(ResponseStatus.Cancelled, storedSlow?.Status);
        Assert.Equal(TurnErrorCodes.Cancelled, storedSlow!.Error?.Code);
        Assert.True(await host.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(5)), "the slow CLI's stream was not closed");

        // Its worker went back to the pool: the next turn gets it.
        var retry = await host.CompleteTurnAsync(Turns.Request(otherConversation, Turns.Codex, "retry words"));
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: retry words | history: -", retry.Text);
    }
}
