using System.ClientModel;
using OpenAI.Chat;
using OpenAI.Responses;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.Compatibility;

/// <summary>The official OpenAI .NET SDK is a strict client: if it parses our answers, our shapes are right.</summary>
public sealed class OpenAiSdkTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _factory;
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    public OpenAiSdkTests(ApiFactory factory)
    {
        _factory = factory;
        _factory.Conversations.Script = (_, ct) => Scripts.Answer(ct, "Hello", ", world");
    }

    [Fact]
    public async Task ResponsesClient_NonStream_ParsesResponse()
    {
        var client = _factory.CreateOpenAiClient().GetResponsesClient();

        ResponseResult response = await client.CreateResponseAsync("gpt-5.5", "hi", null, _timeout);

        Assert.StartsWith("resp_", response.Id);
        Assert.Equal(OpenAI.Responses.ResponseStatus.Completed, response.Status);
        Assert.Equal("Hello, world", response.GetOutputText());
        Assert.Equal(12, response.Usage.InputTokenCount);
        Assert.Equal(4, response.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(2, response.Usage.OutputTokenDetails.ReasoningTokenCount);
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
    }

    [Fact]
    public async Task ResponsesClient_Stream_ParsesEveryUpdate()
    {
        var client = _factory.CreateOpenAiClient().GetResponsesClient();
        var updates = new List<StreamingResponseUpdate>();

        await foreach (var update in await client.CreateResponseStreamingAsync("gpt-5.5", "hi", null, _timeout))
        {
            updates.Add(update);
        }

        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[1]);
        Assert.Equal("Hello, world", string.Concat(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(u => u.Delta)));
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        Assert.Equal("Hello, world", completed.Response.GetOutputText());
        Assert.DoesNotContain(updates, u => u.GetType() == typeof(StreamingResponseUpdate));
        Assert.Equal(updates.Select(u => u.SequenceNumber).Order(), updates.Select(u => u.SequenceNumber));
    }

    [Fact]
    public async Task ResponsesClient_ContinueGetAndDelete_RoundTrips()
    {
        var client = _factory.CreateOpenAiClient().GetResponsesClient();
        ResponseResult first = await client.CreateResponseAsync("gpt-5.5", "hi", null, _timeout);

        ResponseResult second = await client.CreateResponseAsync("gpt-5.5", "again", first.Id, _timeout);
        ResponseResult fetched = await client.GetResponseAsync(second.Id, _timeout);
        var items = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(second.Id, _timeout))
        {
            items.Add(item);
        }

        ResponseDeletionResult deleted = await client.DeleteResponseAsync(second.Id, _timeout);

        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.Equal(second.Id, fetched.Id);
        Assert.Equal("Hello, world", fetched.GetOutputText());
        Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(items));
        Assert.True(deleted.Deleted);
    }

    [Fact]
    public async Task ResponsesClient_UnknownPreviousResponse_ThrowsWith404()
    {
        var client = _factory.CreateOpenAiClient().GetResponsesClient();
        var unknown = ResponseIds.NewResponseId(ResponseIds.NewConversationId());

        var exception = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync("gpt-5.5", "hi", unknown, _timeout));

        Assert.Equal(404, exception.Status);
        Assert.Contains("not found", exception.Message);
    }

    [Fact]
    public async Task ChatClient_NonStream_ParsesCompletion()
    {
        var client = _factory.CreateOpenAiClient().GetChatClient("claude-sonnet-5");

        ChatCompletion completion = await client.CompleteChatAsync(
            [new SystemChatMessage("Be terse."), new UserChatMessage("hi")], cancellationToken: _timeout);

        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("Hello, world", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(19, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task ChatClient_StreamWithUsage_ParsesChunks()
    {
        var client = _factory.CreateOpenAiClient().GetChatClient("gpt-5.5");
        var text = "";
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")], new ChatCompletionOptions(), _timeout))
        {
            text += string.Concat(update.ContentUpdate.Select(c => c.Text));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Hello, world", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(19, usage!.TotalTokenCount);
    }

    [Fact]
    public async Task ModelClient_List_ParsesModels()
    {
        var client = _factory.CreateOpenAiClient().GetOpenAIModelClient();

        var models = await client.GetModelsAsync(_timeout);

        Assert.Contains(models.Value, m => m.Id == "gpt-5.5" && m.OwnedBy == "openai-codex");
        Assert.Contains(models.Value, m => m.Id == "opus" && m.OwnedBy == "anthropic-claude-code");
    }
}
