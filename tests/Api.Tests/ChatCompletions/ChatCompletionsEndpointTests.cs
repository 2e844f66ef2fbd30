using System.Net;
using System.Text.Json;
using OrleansCodex.Api.Tests.TestDoubles;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.ChatCompletions;

public sealed class ChatCompletionsEndpointTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _factory;
    private readonly HttpClient _client;

    public ChatCompletionsEndpointTests(ApiFactory factory)
    {
        _factory = factory;
        _factory.Conversations.Script = (_, ct) => Scripts.Answer(ct, "Hi", " there");
        _client = factory.CreateAuthorizedClient();
    }

    [Fact]
    public async Task Post_NonStream_ReturnsChatCompletionShape()
    {
        var response = await _client.PostAsync("/v1/chat/completions", JsonBody("""{"model":"gpt-5.5","messages":[{"role":"system","content":"terse"},{"role":"user","content":"hi"}]}"""));

        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("gpt-5.5", body.GetProperty("model").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Hi there", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("refusal").ValueKind);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal(19, body.GetProperty("usage").GetProperty("total_tokens").GetInt64());
    }

    [Fact]
    public async Task Post_Any_RunsANewUnstoredConversationWithInstructionsFromSystem()
    {
        var response = await _client.PostAsync("/v1/chat/completions",
            JsonBody("""{"model":"gpt-5.5","messages":[{"role":"system","content":"terse"},{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"""));
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        var (_, request) = _factory.Conversations.Turns.Single(t => "chatcmpl-" + t.Request.ResponseId["resp_".Length..] == id);
        Assert.False(request.Store);
        Assert.Null(request.PreviousResponseId);
        Assert.Equal("terse", request.Instructions);
        Assert.Equal(["user", "assistant", "user"], request.Input.Select(m => m.Role));
    }

    [Fact]
    public async Task Post_Stream_IsChunksThenDone()
    {
        var response = await _client.PostAsync("/v1/chat/completions",
            JsonBody("""{"model":"gpt-5.5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var frames = Sse.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", frames[^1].Data);
        Assert.Equal(0, frames[^2].Json.GetProperty("choices").GetArrayLength());
        Assert.Single(frames.Select(f => f.Data == "[DONE]" ? null : f.Json.GetProperty("id").GetString()).OfType<string>().Distinct());
    }

    [Fact]
    public async Task Post_NTwo_Is400NamingN()
    {
        var response = await _client.PostAsync("/v1/chat/completions", JsonBody("""{"model":"gpt-5.5","n":2,"messages":[{"role":"user","content":"hi"}]}"""));

        await ErrorAsync(response, HttpStatusCode.BadRequest, param: "n");
    }

    [Fact]
    public async Task Post_UnknownPart_Is400NamingThePart()
    {
        var response = await _client.PostAsync("/v1/chat/completions",
            JsonBody("""{"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"file","file":{}}]}]}"""));

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest, param: "messages[0].content[0].type");
        Assert.Contains("'file'", error.GetProperty("message").GetString());
    }
}
