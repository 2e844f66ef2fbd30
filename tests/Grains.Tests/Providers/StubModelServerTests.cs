using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>The stub's own contract, over plain HTTP (the CLI tests rely on it).</summary>
public sealed class StubModelServerTests : IAsyncLifetime
{
    private StubModelServer _stub = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _http = new HttpClient { BaseAddress = _stub.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Responses_Streaming_SendsWordDeltasThenCompletedWithUsage()
    {
        var body = """
            {"model":"gpt-5.5","stream":true,"input":[
              {"type":"message","role":"developer","content":[{"type":"input_text","text":"rules STUB-INSTRUCTION:owl"}]},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context><cwd>/x</cwd></environment_context>"}]},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"ECHO ..."}]},
              {"type":"function_call_output","call_id":"c","output":"tool says hi"},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"second"}]}]}
            """;

        var events = await PostSseAsync("/v1/responses", body, bearer: true);

        Assert.Equal("response.created", events[0].Type);
        Assert.True(events.Count(e => e.Type == "response.output_text.delta") > 1);
        var completed = events.Single(e => e.Type == "response.completed").Data.GetProperty("response");
        Assert.StartsWith("resp_", completed.GetProperty("id").GetString());
        Assert.True(completed.GetProperty("usage").GetProperty("input_tokens").GetInt64() == (body.Length + 3) / 4);
        var text = string.Concat(events.Where(e => e.Type == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString()));
        Assert.Equal("ECHO turn=2 prior_assistant=1 instruction=owl :: second | history: first", text);
    }

    [Fact]
    public async Task Messages_NonStreaming_SkipsSystemRemindersAndToolResultsAndAcceptsSystemRole()
    {
        var body = """
            {"model":"claude-stub","max_tokens":100,"system":[{"type":"text","text":"main prompt STUB-INSTRUCTION:fox"}],"messages":[
              {"role":"user","content":[{"type":"text","text":"<system-reminder>date</system-reminder>"},{"type":"text","text":"first"}]},
              {"role":"system","content":"Available agent types"},
              {"role":"assistant","content":[{"type":"text","text":"ok"}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]},
              {"role":"assistant","content":[{"type":"text","text":"ok"}]},
              {"role":"user","content":"second"}]}
            """;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", StubModelServer.DefaultApiKey);

        using var response = await _http.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ECHO turn=2 prior_assistant=2 instruction=fox :: second | history: first", json.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("messages", _stub.Requests.Single().Path.Split('/')[^1]);
        Assert.Equal("?beta=true", _stub.Requests.Single().Query);
    }

    [Fact]
    public async Task Messages_Streaming_SendsTheAnthropicEventSequence()
    {
        var events = await PostSseAsync("/v1/messages", """{"model":"claude-stub","stream":true,"messages":[{"role":"user","content":"hi there"}]}""", bearer: false);

        Assert.Equal(["message_start", "content_block_start"], events.Take(2).Select(e => e.Type));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3).Select(e => e.Type));
        Assert.True(events.Count(e => e.Type == "content_block_delta") > 1);
        Assert.True(events.Single(e => e.Type == "message_delta").Data.GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);
    }

    [Theory]
    [InlineData("stub-401", HttpStatusCode.Unauthorized)]
    [InlineData("claude-stub-429", HttpStatusCode.TooManyRequests)]
    [InlineData("stub-404", HttpStatusCode.NotFound)]
    [InlineData("stub-500", HttpStatusCode.InternalServerError)]
    public async Task MagicModels_BothApis_ReturnTheirStatus(string model, HttpStatusCode expected)
    {
        foreach (var path in new[] { "/v1/responses", "/v1/messages" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent($$"""{"model":"{{model}}","stream":true}""", Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StubModelServer.DefaultApiKey);

            using var response = await _http.SendAsync(request);

            Assert.Equal(expected, response.StatusCode);
        }
    }

    [Fact]
    public async Task AnyModel_WrongKey_Gets401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = new StringContent("""{"model":"gpt-5.5"}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("sk-wrong", await response.Content.ReadAsStringAsync());
    }

    private async Task<List<(string Type, JsonElement Data)>> PostSseAsync(string path, string body, bool bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StubModelServer.DefaultApiKey);
        }
        else
        {
            request.Headers.Add("x-api-key", StubModelServer.DefaultApiKey);
        }

        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new List<(string, JsonElement)>();
        foreach (var block in (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            var type = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
            using var data = JsonDocument.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]);
            events.Add((type, data.RootElement.Clone()));
        }

        return events;
    }
}
