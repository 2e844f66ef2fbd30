using System.ClientModel;
using OpenAI.Responses;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>The Responses API through the running service, the real CLIs and the stub model, driven by the official OpenAI SDK.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ResponsesEndToEndTests(ServiceFixture fixture)
{
    public static TheoryData<string> Models => new() { StubModelServer.CodexModel, StubModelServer.ClaudeModel };

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    private ResponsesClient Client => fixture.Service.CreateOpenAiClient().GetResponsesClient();

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Responses_ThreeTurnConversation_LaterTurnsSeeEarlierOnes(string model)
    {
        ResponseResult first = await Client.CreateResponseAsync(model, "alpha-one", null, _timeout);
        ResponseResult second = await Client.CreateResponseAsync(model, "bravo-two", first.Id, _timeout);
        ResponseResult third = await Client.CreateResponseAsync(model, "charlie-three", second.Id, _timeout);

        Assert.Equal(ResponseStatus.Completed, third.Status);
        Assert.StartsWith("ECHO", first.GetOutputText());
        Assert.Contains("alpha-one", second.GetOutputText());
        Assert.Contains("alpha-one", third.GetOutputText());
        Assert.Contains("bravo-two", third.GetOutputText());
        Assert.Contains("charlie-three", third.GetOutputText());
        Assert.Equal(second.Id, third.PreviousResponseId);
        // Continuing the head resumes the CLI session: the model sees the real earlier exchanges, not a pasted transcript.
        Assert.Contains("prior_assistant=2", third.GetOutputText());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Responses_ForkFromFirstTurn_SeesFirstTurnButNotTheOtherBranch(string model)
    {
        ResponseResult first = await Client.CreateResponseAsync(model, "delta-root", null, _timeout);
        ResponseResult second = await Client.CreateResponseAsync(model, "echo-branch-a", first.Id, _timeout);

        ResponseResult fork = await Client.CreateResponseAsync(model, "foxtrot-branch-b", first.Id, _timeout);
        ResponseResult afterFork = await Client.CreateResponseAsync(model, "golf-after-fork", fork.Id, _timeout);
        ResponseResult backOnA = await Client.CreateResponseAsync(model, "hotel-back-on-a", second.Id, _timeout);

        Assert.Contains("delta-root", fork.GetOutputText());
        Assert.DoesNotContain("echo-branch-a", fork.GetOutputText());
        Assert.Contains("foxtrot-branch-b", afterFork.GetOutputText());
        Assert.DoesNotContain("echo-branch-a", afterFork.GetOutputText());
        Assert.Contains("echo-branch-a", backOnA.GetOutputText());
        Assert.DoesNotContain("foxtrot-branch-b", backOnA.GetOutputText());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Responses_Stream_DeliversDeltasThenCompletedWithCliUsage(string model)
    {
        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in await Client.CreateResponseStreamingAsync(model, "india streaming words", null, _timeout))
        {
            updates.Add(update);
        }

        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        var deltas = updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(u => u.Delta).ToList();
        // Both warm workers stream token by token: a multi-word answer comes in more than one delta.
        Assert.True(deltas.Count > 1, $"{deltas.Count} delta(s)");
        Assert.Equal(completed.Response.GetOutputText(), string.Concat(deltas));
        Assert.Contains("india streaming words", completed.Response.GetOutputText());
        Assert.True(completed.Response.Usage.InputTokenCount > 0);
        Assert.True(completed.Response.Usage.OutputTokenCount > 0);
        Assert.Equal(updates.Select(u => u.SequenceNumber).Order(), updates.Select(u => u.SequenceNumber));
    }

    [Fact]
    public async Task Responses_CodexContinuation_ReportsTheTurnsOwnUsageNotTheThreadTotal()
    {
        ResponseResult first = await Client.CreateResponseAsync(StubModelServer.CodexModel, "juliet-usage", null, _timeout);
        ResponseResult second = await Client.CreateResponseAsync(StubModelServer.CodexModel, "kilo-usage", first.Id, _timeout);

        // Codex reports the thread's running total; the second turn resends the first as history, so its own input is a bit
        // larger than the first's, while the running total would be about twice as large.
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);
        Assert.True(second.Usage.InputTokenCount < first.Usage.InputTokenCount * 1.5, $"{second.Usage.InputTokenCount} vs {first.Usage.InputTokenCount}");
    }

    [Fact]
    public async Task Responses_Instructions_ApplyToTheirTurnOnly()
    {
        var options = new CreateResponseOptions(StubModelServer.CodexModel, [ResponseItem.CreateUserMessageItem("lima-instructed")])
        {
            Instructions = $"{StubConversation.InstructionMarker}zebra",
        };

        ResponseResult first = await Client.CreateResponseAsync(options, _timeout);
        ResponseResult second = await Client.CreateResponseAsync(StubModelServer.CodexModel, "mike-plain", first.Id, _timeout);

        Assert.Contains("instruction=zebra", first.GetOutputText());
        // The stub echoes what it saw; the answer's head (before " :: ") names the instruction of this request, if any.
        Assert.DoesNotContain("instruction=", second.GetOutputText().Split(" :: ")[0]);
        Assert.Contains("lima-instructed", second.GetOutputText());
    }

    [Fact]
    public async Task Responses_GetThenDelete_ThenGetAndContinueAre404()
    {
        ResponseResult created = await Client.CreateResponseAsync(StubModelServer.CodexModel, "november-stored", null, _timeout);

        ResponseResult fetched = await Client.GetResponseAsync(created.Id, _timeout);
        var items = new List<ResponseItem>();
        await foreach (var item in Client.GetResponseInputItemsAsync(created.Id, _timeout))
        {
            items.Add(item);
        }

        ResponseDeletionResult deleted = await Client.DeleteResponseAsync(created.Id, _timeout);
        var get = await Assert.ThrowsAsync<ClientResultException>(() => Client.GetResponseAsync(created.Id, _timeout));
        var next = await Assert.ThrowsAsync<ClientResultException>(() => Client.CreateResponseAsync(StubModelServer.CodexModel, "oscar", created.Id, _timeout));
        var again = await Assert.ThrowsAsync<ClientResultException>(() => Client.DeleteResponseAsync(created.Id, _timeout));

        Assert.Equal(created.GetOutputText(), fetched.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, fetched.Status);
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(items));
        Assert.Equal("november-stored", Assert.Single(message.Content).Text);
        Assert.True(deleted.Deleted);
        Assert.Equal(404, get.Status);
        Assert.Equal(404, next.Status);
        Assert.Equal(404, again.Status);
    }

    [Fact]
    public async Task Responses_UnknownPreviousResponseId_Is404WithoutRunningTheCli()
    {
        var before = fixture.Stub.Requests.Count;
        var unknown = "resp_" + new string('a', 48);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client.CreateResponseAsync(StubModelServer.CodexModel, "papa", unknown, _timeout));
        var garbage = await Assert.ThrowsAsync<ClientResultException>(() => Client.CreateResponseAsync(StubModelServer.CodexModel, "papa", "resp_nope", _timeout));

        Assert.Equal(404, error.Status);
        Assert.Contains("previous_response_not_found", error.Message);
        Assert.Equal(404, garbage.Status);
        Assert.Equal(before, fixture.Stub.Requests.Count);
    }

    [Fact]
    public async Task Responses_StoreFalse_CannotBeFetchedOrContinued()
    {
        var options = new CreateResponseOptions(StubModelServer.CodexModel, [ResponseItem.CreateUserMessageItem("quebec-unstored")])
        {
            StoredOutputEnabled = false,
        };

        ResponseResult response = await Client.CreateResponseAsync(options, _timeout);
        var get = await Assert.ThrowsAsync<ClientResultException>(() => Client.GetResponseAsync(response.Id, _timeout));
        var next = await Assert.ThrowsAsync<ClientResultException>(() => Client.CreateResponseAsync(StubModelServer.CodexModel, "romeo", response.Id, _timeout));

        Assert.Contains("quebec-unstored", response.GetOutputText());
        Assert.Equal(404, get.Status);
        Assert.Equal(404, next.Status);
    }
}
