using OpenAI.Responses;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>A single node restarted on its data directory (SQLite grain state and turn log): nothing a client made is lost.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RestartEndToEndTests(ServiceFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;

    [Theory]
    [InlineData(StubModelServer.CodexModel)]
    [InlineData(StubModelServer.ClaudeModel)]
    public async Task Service_RestartedOnItsDataDirectory_ServesStoredResponsesAndContinuesTheirConversationsInTheSameCliSession(string model)
    {
        // Arrange: two turns on a service of its own, then a graceful stop.
        var directory = fixture.Cli.CreateWorkingDirectory("restart");
        string firstId, secondId, secondText;
        await using (var before = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey, directory: directory))
        {
            var client = before.CreateOpenAiClient().GetResponsesClient();
            ResponseResult first = await client.CreateResponseAsync(model, "restart-alpha", null, _timeout);
            ResponseResult second = await client.CreateResponseAsync(model, "restart-bravo", first.Id, _timeout);
            (firstId, secondId, secondText) = (first.Id, second.Id, second.GetOutputText());
        }

        // Act: the same directory, a new process.
        await using var after = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey, directory: directory);
        var restarted = after.CreateOpenAiClient().GetResponsesClient();
        ResponseResult stored = await restarted.GetResponseAsync(secondId, _timeout);
        ResponseResult third = await restarted.CreateResponseAsync(model, "restart-charlie", secondId, _timeout);

        // Assert: the stored response is served as it was; the conversation continues where it stood, and the node (same
        // default node id: the machine's name) resumes the CLI session it had: the model sees the earlier exchanges as real turns.
        Assert.Equal(ResponseStatus.Completed, stored.Status);
        Assert.Equal(secondText, stored.GetOutputText());
        Assert.Equal(firstId, stored.PreviousResponseId);
        Assert.Equal(ResponseStatus.Completed, third.Status);
        Assert.StartsWith("ECHO turn=3 prior_assistant=2 :: restart-charlie | history: restart-alpha / restart-bravo", third.GetOutputText());
    }
}
