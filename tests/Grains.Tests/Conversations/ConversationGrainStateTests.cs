using OrleansCodex.Grains.Conversations;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>What a conversation stores and in which order it runs turns, through the real runtime, CLIs and stub.</summary>
public sealed class ConversationGrainStateTests(ConversationHostFixture host) : IClassFixture<ConversationHostFixture>
{
    [Fact]
    public async Task GetResponse_RowLeftInProgressByAnEarlierActivation_ReportsItFailedWithAnError()
    {
        // Arrange: rows as a process that died mid-turn left them, in this conversation and in another one.
        var conversation = ResponseIds.NewConversationId();
        var bystander = ResponseIds.NewConversationId();
        var interrupted = InProgressRow(conversation);
        var untouched = InProgressRow(bystander);
        Assert.True(await host.Store.InsertAsync(interrupted, CancellationToken.None));
        Assert.True(await host.Store.InsertAsync(untouched, CancellationToken.None));

        // Act: the first call activates the conversation.
        var stored = await host.Conversation(conversation).GetResponse(interrupted.Id);

        // Assert
        Assert.NotNull(stored);
        Assert.Equal(ResponseStatus.Failed, stored.Status);
        Assert.NotNull(stored.Error);
        Assert.Equal(TurnErrorCodes.NodeUnavailable, stored.Error.Code);
        Assert.Contains("stopped before the turn finished", stored.Error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(stored.CompletedAt);
        Assert.Equal(interrupted.Input, stored.Input, (a, b) => a.Role == b.Role && a.Text == b.Text);
        // Only the activating conversation's rows are its own to repair.
        Assert.Equal(ResponseStatus.InProgress, (await host.Store.GetAsync(bystander, untouched.Id, CancellationToken.None))?.Status);
    }

    [Fact]
    public async Task RunTurn_FiveConcurrentForksOfOneParent_AllCompleteInTurnWithOneCliProcessAtATime()
    {
        // Arrange
        const int forks = 5;
        var conversation = ResponseIds.NewConversationId();
        var root = Turns.Request(conversation, Turns.Claude, "root words");
        await host.CompleteTurnAsync(root);
        var requests = Enumerable.Range(0, forks)
            .Select(i => Turns.Request(conversation, Turns.Claude, $"fork{i} words", previousResponseId: root.ResponseId))
            .ToArray();

        host.Stub.ResetPeakActiveRequests();

        // Act
        var results = await Task.WhenAll(requests.Select(request => Task.Run(() => host.RunTurnAsync(request))));

        // Assert: every fork completed and answered its own question on top of the root, never a sibling's.
        var answers = results.Select(Turns.AssertCompleted).Select(done => done.Text!).ToArray();
        for (var i = 0; i < forks; i++)
        {
            Assert.Contains($"fork{i} words", answers[i]);
            Assert.Contains("root words", answers[i]);
            for (var j = 0; j < forks; j++)
            {
                if (j != i)
                {
                    Assert.DoesNotContain($"fork{j} words", answers[i]);
                }
            }
        }

        // The first fork to run continued the head and resumed its session; each later one forked a fresh seeded session.
        Assert.Single(answers, a => Turns.Head(a) == "ECHO turn=2 prior_assistant=1");
        Assert.Equal(forks - 1, answers.Count(a => Turns.Head(a) == "ECHO turn=1 prior_assistant=0"));

        var grain = host.Conversation(conversation);
        var stored = new List<StoredResponse>();
        foreach (var request in requests)
        {
            stored.Add(await grain.GetResponse(request.ResponseId) ?? throw new Xunit.Sdk.XunitException($"{request.ResponseId} was not stored"));
        }

        Assert.Equal(forks, stored.Select(s => s.Id).Distinct().Count());
        Assert.All(stored, s => Assert.Equal(ResponseStatus.Completed, s.Status));
        Assert.All(stored, s => Assert.Equal(root.ResponseId, s.PreviousResponseId));
        Assert.Equal(answers, stored.Select(s => s.OutputText));

        // The conversation ran its turns one after the other: the model never had two of its requests at once (the test class
        // runs alone on this stub). Warm or per-turn processes alike.
        Assert.Equal(1, host.Stub.PeakActiveRequests);
    }

    [Fact]
    public async Task RunTurn_StoreFalse_CompletesWithoutStoringOrTouchingTheConversationsSession()
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "kept words");
        await host.CompleteTurnAsync(first);
        var stateless = Turns.Request(conversation, Turns.Codex, "unkept words", previousResponseId: first.ResponseId, store: false);

        // Act
        var statelessDone = await host.CompleteTurnAsync(stateless);

        // Assert: it answered with the history it continued, but left nothing behind.
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: ", statelessDone.Text);
        Assert.Contains("kept words", statelessDone.Text);
        Assert.Contains("unkept words", statelessDone.Text);
        var grain = host.Conversation(conversation);
        Assert.Null(await grain.GetResponse(stateless.ResponseId));
        var continuingStateless = await host.RunTurnAsync(Turns.Request(conversation, Turns.Codex, "orphan words", previousResponseId: stateless.ResponseId));
        Turns.AssertFailed(continuingStateless, TurnErrorCodes.PreviousResponseNotFound);
        // The stored head and its session are as the first turn left them: the next stored turn resumes it, unaware of the stateless one.
        var next = await host.CompleteTurnAsync(Turns.Request(conversation, Turns.Codex, "next words", previousResponseId: first.ResponseId));
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: next words | history: kept words", next.Text);
    }

    private static StoredResponse InProgressRow(string conversationId) => new()
    {
        Id = ResponseIds.NewResponseId(conversationId),
        ConversationId = conversationId,
        Model = Turns.Codex,
        Status = ResponseStatus.InProgress,
        CreatedAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        Input = [InputMessage.User("interrupted words")],
    };
}
