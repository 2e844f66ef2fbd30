using OpenAI.Chat;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>Chat Completions through the running service and the real CLIs, driven by the official OpenAI SDK.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ChatCompletionsEndToEndTests(ServiceFixture fixture)
{
    public static TheoryData<string> Models => new() { StubModelServer.CodexModel, StubModelServer.ClaudeModel };

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Chat_NonStream_AnswersWithTheCliUsage(string model)
    {
        var client = fixture.Service.CreateOpenAiClient().GetChatClient(model);

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("sierra chat")], cancellationToken: _timeout);

        Assert.Contains("sierra chat", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Chat_StreamWithUsage_StreamsTextAndOneUsageChunk(string model)
    {
        var client = fixture.Service.CreateOpenAiClient().GetChatClient(model);
        var text = "";
        var usageChunks = 0;
        ChatFinishReason? finish = null;

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("tango stream")], new ChatCompletionOptions(), _timeout))
        {
            text += string.Concat(update.ContentUpdate.Select(c => c.Text));
            finish ??= update.FinishReason;
            usageChunks += update.Usage is null ? 0 : 1;
        }

        Assert.Contains("tango stream", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(1, usageChunks);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Chat_ResentHistory_ReachesTheModel(string model)
    {
        var client = fixture.Service.CreateOpenAiClient().GetChatClient(model);

        ChatCompletion completion = await client.CompleteChatAsync(
            [
                new SystemChatMessage($"{StubConversation.InstructionMarker}yak"),
                new UserChatMessage("uniform earlier question"),
                new AssistantChatMessage("an earlier answer"),
                new UserChatMessage("victor latest question"),
            ],
            cancellationToken: _timeout);

        var text = Assert.Single(completion.Content).Text;
        Assert.Contains("uniform earlier question", text);
        Assert.Contains("victor latest question", text);
        Assert.Contains("instruction=yak", text);
    }
}
