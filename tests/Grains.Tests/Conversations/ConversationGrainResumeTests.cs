using OrleansCodex.Grains.Conversations;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>How a conversation continues its CLI session, through the real runtime, the real CLIs and the stub model server.</summary>
public sealed class ConversationGrainResumeTests(ConversationHostFixture host) : IClassFixture<ConversationHostFixture>
{
    /// <summary>The log event of <c>ConversationGrain</c> for a resumed session whose files were gone.</summary>
    private const int SessionLostEvent = 2002;

    [Theory]
    [InlineData(Turns.Codex)]
    [InlineData(Turns.Claude)]
    public async Task RunTurn_SecondTurnContinuingTheHead_ResumesTheSessionAndStoresBothTurnsLinked(string model)
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, model, "alpha words");
        var firstDone = await host.CompleteTurnAsync(first);
        var second = Turns.Request(conversation, model, "beta words", previousResponseId: first.ResponseId);

        // Act
        var secondDone = await host.CompleteTurnAsync(second);

        // Assert
        Assert.Equal("ECHO turn=1 prior_assistant=0 :: alpha words | history: -", firstDone.Text);
        // Only the new input was sent to the resumed session, which still knew the first exchange.
        Assert.Equal("ECHO turn=2 prior_assistant=1 :: beta words | history: alpha words", secondDone.Text);
        var grain = host.Conversation(conversation);
        var storedFirst = await grain.GetResponse(first.ResponseId);
        var storedSecond = await grain.GetResponse(second.ResponseId);
        AssertStoredCompleted(storedFirst, firstDone, previousResponseId: null);
        AssertStoredCompleted(storedSecond, secondDone, previousResponseId: first.ResponseId);
    }

    [Theory]
    [InlineData(Turns.Codex)]
    [InlineData(Turns.Claude)]
    public async Task RunTurn_SessionFilesDeletedBetweenTurns_CompletesInAFreshSessionSeededWithTheTranscript(string model)
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, model, "lost alpha words");
        await host.CompleteTurnAsync(first);
        DeleteSessionFiles(ModelRouting.ProviderFor(model));
        var second = Turns.Request(conversation, model, "lost beta words", previousResponseId: first.ResponseId);
        var third = Turns.Request(conversation, model, "lost gamma words", previousResponseId: second.ResponseId);

        // Act
        var secondDone = await host.CompleteTurnAsync(second);
        var thirdDone = await host.CompleteTurnAsync(third);

        // Assert
        Assert.Single(host.Logs.ForConversation(SessionLostEvent, conversation));
        // The replacement session got the whole transcript as one prompt: turn 1's question and answer, then the new input.
        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: ", secondDone.Text);
        Assert.Contains("lost alpha words", secondDone.Text);
        Assert.Contains("ECHO turn=1 prior_assistant=0 :: lost alpha words", secondDone.Text);
        Assert.Contains("lost beta words", secondDone.Text);
        var stored = await host.Conversation(conversation).GetResponse(second.ResponseId);
        Assert.Equal(ResponseStatus.Completed, stored?.Status);
        Assert.Equal(secondDone.Text, stored!.OutputText);
        // The grain remembers the replacement session: the next turn resumes it.
        Assert.Equal("ECHO turn=2 prior_assistant=1", Turns.Head(thirdDone.Text!));
        Assert.Contains(":: lost gamma words | history: ", thirdDone.Text);
    }

    [Fact]
    public async Task RunTurn_CodexTurnDroppingTheThreadsInstructions_StartsAFreshThreadThatTheNextTurnResumes()
    {
        // Arrange
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "striped words", instructions: "Be terse. STUB-INSTRUCTION:zebra");
        var second = Turns.Request(conversation, Turns.Codex, "plain words", previousResponseId: first.ResponseId);
        var third = Turns.Request(conversation, Turns.Codex, "still plain words", previousResponseId: second.ResponseId);

        // Act
        var firstDone = await host.CompleteTurnAsync(first);
        var secondDone = await host.CompleteTurnAsync(second);
        var thirdDone = await host.CompleteTurnAsync(third);

        // Assert
        Assert.Equal("ECHO turn=1 prior_assistant=0 instruction=zebra", Turns.Head(firstDone.Text!));
        // A Codex thread keeps the instructions it started with, so turn 2 runs in a new thread (seeded with the transcript,
        // which quotes turn 1's answer and so the word "instruction=zebra" after the head, but carries no instructions).
        Assert.Equal("ECHO turn=1 prior_assistant=0", Turns.Head(secondDone.Text!));
        Assert.Contains("striped words", secondDone.Text);
        Assert.Contains("plain words", secondDone.Text);
        // Turn 3 has the same (no) instructions as turn 2's thread and resumes it: one earlier exchange, not turn 1's thread (2).
        Assert.Equal("ECHO turn=2 prior_assistant=1", Turns.Head(thirdDone.Text!));
        Assert.StartsWith("ECHO turn=2 prior_assistant=1 :: still plain words | history: ", thirdDone.Text);
        var thirdRequest = Assert.Single(host.Stub.Requests, r => r.Conversation.UserTexts.Contains("still plain words"));
        Assert.Null(thirdRequest.Conversation.Instruction);
    }

    private static void AssertStoredCompleted(StoredResponse? stored, TurnEvent done, string? previousResponseId)
    {
        Assert.NotNull(stored);
        Assert.Equal(ResponseStatus.Completed, stored.Status);
        Assert.Equal(done.Text, stored.OutputText);
        Assert.Equal(previousResponseId, stored.PreviousResponseId);
        Assert.NotNull(stored.CompletedAt);
        Assert.Null(stored.Error);
        Assert.NotNull(stored.Usage);
        Assert.True(stored.Usage.InputTokens > 0 && stored.Usage.OutputTokens > 0, $"usage {stored.Usage}");
        Assert.Equal(done.Usage, stored.Usage);
    }

    /// <summary>Removes every session the CLI keeps on disk, as if its home had been wiped.</summary>
    /// <summary>
    /// The node loses the session: its files, and for Claude also its warm process (which would otherwise carry on with the
    /// session in memory, as it should): what a restart on a wiped CLI home looks like.
    /// </summary>
    private void DeleteSessionFiles(CliProvider provider)
    {
        if (provider == CliProvider.Claude)
        {
            foreach (var process in OrleansCodex.Testing.Service.ProcessTree.WithEnvironmentEntry($"CLAUDE_CONFIG_DIR={host.Cli.ClaudeConfigDirectory}"))
            {
                OrleansCodex.Testing.Service.ProcessTree.Signal(process.Pid, 9);
            }
        }

        var directory = provider == CliProvider.Codex
            ? Path.Combine(host.Cli.CodexHome, "sessions")
            : Path.Combine(host.Cli.ClaudeConfigDirectory, "projects");
        Assert.True(Directory.Exists(directory) && Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Any(), $"no session files in {directory}");
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo sub)
            {
                sub.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }
}
