using System.Net;
using System.Text.Json;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.Responses;

public sealed class ResponsesEndpointTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _factory;
    private readonly HttpClient _client;

    public ResponsesEndpointTests(ApiFactory factory)
    {
        _factory = factory;
        _factory.Conversations.Script = (_, ct) => Scripts.Answer(ct, "Hello", ", world");
        _factory.Providers.Statuses[CliProvider.Claude] = new(CliProvider.Claude, true, null, "2.1.197", null);
        _client = factory.CreateAuthorizedClient();
    }

    private async Task<JsonElement> CreateAsync(string json)
    {
        var response = await _client.PostAsync("/v1/responses", JsonBody(json));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task Post_NonStream_ReturnsCompletedResponseAndSendsValidatedTurn()
    {
        var response = await CreateAsync("""{"model":"gpt-5.5","input":"hi","instructions":"be brief","metadata":{"k":"v"},"reasoning":{"effort":"low"}}""");

        var id = response.GetProperty("id").GetString()!;
        Assert.StartsWith("resp_", id);
        Assert.Equal("completed", response.GetProperty("status").GetString());
        Assert.Equal("Hello, world", response.GetProperty("output_text").GetString());
        Assert.Equal("Hello, world", response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.StartsWith("msg_", response.GetProperty("output")[0].GetProperty("id").GetString());
        Assert.Equal(19, response.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.True(response.GetProperty("store").GetBoolean());

        var (conversationId, request) = _factory.Conversations.Turns.Single(t => t.Request.ResponseId == id);
        Assert.True(ResponseIds.TryGetConversationId(id, out var expectedConversation));
        Assert.Equal(expectedConversation, conversationId);
        Assert.Equal("be brief", request.Instructions);
        Assert.Equal("low", request.ReasoningEffort);
        Assert.Equal("v", request.Metadata!["k"]);
        Assert.Null(request.PreviousResponseId);
    }

    [Fact]
    public async Task Post_JsonSchemaAndXCodex_ReachTheTurnAndTheFormatIsEchoed()
    {
        var response = await CreateAsync("""
            {"model":"gpt-5.5","input":"hi","text":{"format":{"type":"json_schema","name":"answer","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}}}}},
             "x_codex":{"sandbox":"read-only","reasoning_effort":"high","timeout":30}}
            """);

        var format = response.GetProperty("text").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("answer", format.GetProperty("name").GetString());
        Assert.Equal("string", format.GetProperty("schema").GetProperty("properties").GetProperty("a").GetProperty("type").GetString());
        Assert.Equal("high", response.GetProperty("reasoning").GetProperty("effort").GetString());
        var turn = _factory.Conversations.Turns.Single(t => t.Request.ResponseId == response.GetProperty("id").GetString()).Request;
        Assert.Equal("answer", turn.OutputFormat!.Name);
        Assert.Equal("read-only", turn.Sandbox);
        Assert.Equal("high", turn.ReasoningEffort);
        Assert.Equal(TimeSpan.FromSeconds(30), turn.Timeout);
    }

    [Fact]
    public async Task Post_PlainText_EchoesTextFormatWithoutSchemaFields()
    {
        var format = (await CreateAsync("""{"model":"gpt-5.5","input":"hi"}""")).GetProperty("text").GetProperty("format");

        Assert.Equal(["type"], format.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Post_WithPreviousResponse_ContinuesTheSameConversationWithoutInstructions()
    {
        var first = await CreateAsync("""{"model":"gpt-5.5","input":"hi","instructions":"only once"}""");
        var firstId = first.GetProperty("id").GetString()!;

        var second = await CreateAsync($$"""{"model":"gpt-5.5","input":"again","previous_response_id":"{{firstId}}"}""");

        Assert.Equal(firstId, second.GetProperty("previous_response_id").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("instructions").ValueKind);
        ResponseIds.TryGetConversationId(firstId, out var conversation);
        ResponseIds.TryGetConversationId(second.GetProperty("id").GetString(), out var secondConversation);
        Assert.Equal(conversation, secondConversation);
    }

    [Fact]
    public async Task Post_UnparsablePreviousResponse_Is404WithoutGrainCall()
    {
        var before = _factory.Conversations.Turns.Count;

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi","previous_response_id":"resp_nope"}"""));

        await ErrorAsync(response, HttpStatusCode.NotFound, "previous_response_not_found", "previous_response_id");
        Assert.Equal(before, _factory.Conversations.Turns.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_UnknownPreviousResponse_Is404EvenWhenStreaming(bool stream)
    {
        var unknown = ResponseIds.NewResponseId(ResponseIds.NewConversationId());

        var response = await _client.PostAsync("/v1/responses",
            JsonBody($$"""{"model":"gpt-5.5","input":"hi","stream":{{(stream ? "true" : "false")}},"previous_response_id":"{{unknown}}"}"""));

        await ErrorAsync(response, HttpStatusCode.NotFound, "previous_response_not_found", "previous_response_id");
    }

    [Fact]
    public async Task Post_ProviderUnavailable_Is503WithOperatorMessageAndRetryAfter()
    {
        _factory.Providers.MakeUnavailable(CliProvider.Claude, "Claude Code is not logged in: run 'claude' once on the server.");
        var before = _factory.Conversations.Turns.Count;

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"sonnet","input":"hi"}"""));

        var error = await ErrorAsync(response, HttpStatusCode.ServiceUnavailable, "provider_unavailable");
        Assert.Contains("run 'claude'", error.GetProperty("message").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(before, _factory.Conversations.Turns.Count);
    }

    [Fact]
    public async Task Post_Stream_IsEventStreamEndingInCompleted()
    {
        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi","stream":true}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var frames = Sse.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("response.created", frames[0].Event);
        Assert.Equal("response.completed", frames[^1].Event);
        Assert.Equal("Hello, world", frames[^1].Json.GetProperty("response").GetProperty("output_text").GetString());
    }

    [Fact]
    public async Task Post_StreamThenClientDisconnects_CancelsTheTurn()
    {
        var ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _factory.Conversations.Script = (_, ct) => DeltaThenHang(ct, ended);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonBody("""{"model":"gpt-5.5","input":"hi","stream":true}""") };

        using (var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            Assert.True(await stream.ReadAsync(new byte[256], timeout.Token) > 0);
        }

        Assert.True(await ended.Task.WaitAsync(timeout.Token), "the turn ended without its token being cancelled");

        // Ends either inside the wait (resumed) or at its yield (disposed); either way its token must be cancelled by then.
        static async IAsyncEnumerable<TurnEvent> DeltaThenHang([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, TaskCompletionSource<bool> ended)
        {
            try
            {
                yield return TurnEvent.Delta("partial");
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }
            finally
            {
                ended.TrySetResult(ct.IsCancellationRequested);
            }
        }
    }

    [Fact]
    public async Task Get_StoredResponse_ReturnsItWithTheSameOutputItemId()
    {
        var created = await CreateAsync("""{"model":"gpt-5.5","input":"hi"}""");
        var id = created.GetProperty("id").GetString();

        var fetched = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}")).RootElement;

        Assert.Equal(id, fetched.GetProperty("id").GetString());
        Assert.Equal("completed", fetched.GetProperty("status").GetString());
        Assert.Equal(created.GetProperty("output")[0].GetProperty("id").GetString(), fetched.GetProperty("output")[0].GetProperty("id").GetString());
        Assert.Equal("Hello, world", fetched.GetProperty("output_text").GetString());
    }

    [Fact]
    public async Task Get_StoreFalseResponse_Is404()
    {
        var created = await CreateAsync("""{"model":"gpt-5.5","input":"hi","store":false}""");

        var response = await _client.GetAsync($"/v1/responses/{created.GetProperty("id").GetString()}");

        await ErrorAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_StoredResponse_ReturnsDeletedThenGetIs404()
    {
        var id = (await CreateAsync("""{"model":"gpt-5.5","input":"hi"}""")).GetProperty("id").GetString();

        var deleted = JsonDocument.Parse(await (await _client.DeleteAsync($"/v1/responses/{id}")).Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(id, deleted.GetProperty("id").GetString());
        Assert.Equal("response", deleted.GetProperty("object").GetString());
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        await ErrorAsync(await _client.GetAsync($"/v1/responses/{id}"), HttpStatusCode.NotFound);
        await ErrorAsync(await _client.DeleteAsync($"/v1/responses/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task GetInputItems_Paging_IsStableAndOrdered()
    {
        var id = (await CreateAsync("""
            {"model":"gpt-5.5","input":[{"role":"user","content":"one"},{"role":"assistant","content":"two"},{"role":"user","content":[{"type":"input_text","text":"three"},{"type":"input_text","text":"four"}]}]}
            """)).GetProperty("id").GetString();

        var all = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}/input_items?order=asc")).RootElement;
        var again = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}/input_items?order=asc")).RootElement;
        var desc = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}/input_items")).RootElement;
        var firstPage = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}/input_items?order=asc&limit=2")).RootElement;
        var after = firstPage.GetProperty("last_id").GetString();
        var secondPage = JsonDocument.Parse(await _client.GetStringAsync($"/v1/responses/{id}/input_items?order=asc&limit=2&after={after}")).RootElement;

        Assert.Equal("list", all.GetProperty("object").GetString());
        var ids = all.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
        Assert.Equal(3, ids.Count);
        Assert.All(ids, i => Assert.StartsWith("msg_", i));
        Assert.Equal(ids, again.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(ids.AsEnumerable().Reverse(), desc.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(["user", "assistant", "user"], all.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("role").GetString()));
        Assert.Equal("output_text", all.GetProperty("data")[1].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("four", all.GetProperty("data")[2].GetProperty("content")[1].GetProperty("text").GetString());
        Assert.True(firstPage.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids[0], firstPage.GetProperty("first_id").GetString());
        Assert.Equal(ids[2], Assert.Single(secondPage.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        Assert.False(secondPage.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task GetInputItems_BadLimit_Is400NamingLimit()
    {
        var id = (await CreateAsync("""{"model":"gpt-5.5","input":"hi"}""")).GetProperty("id").GetString();

        await ErrorAsync(await _client.GetAsync($"/v1/responses/{id}/input_items?limit=0"), HttpStatusCode.BadRequest, param: "limit");
    }

    [Fact]
    public async Task Get_UnknownId_Is404()
    {
        await ErrorAsync(await _client.GetAsync("/v1/responses/resp_unknown"), HttpStatusCode.NotFound);
    }
}
