using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI.Chat;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>
/// What a request may change about its CLI (models, <c>x_codex</c>, deadlines) and the limits the server keeps, against the running
/// service and the real CLIs.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ControlsEndToEndTests(ServiceFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Models_ListComesFromTheClisCatalogs()
    {
        using var http = fixture.Service.CreateHttpClient();

        var ids = JsonDocument.Parse(await http.GetStringAsync("v1/models", _timeout)).RootElement.GetProperty("data")
            .EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();

        // gpt-6-astra comes only from Codex's bundled catalog, opus[1m] only from Claude Code's model list.
        Assert.Contains("gpt-6-astra", ids);
        Assert.Contains("opus[1m]", ids);
        Assert.Contains(StubModelServer.MagicModels.Slow, ids);
    }

    [Fact]
    public async Task Model_Unlisted_Is404ModelNotFoundBeforeAnyCliRuns()
    {
        var before = fixture.Stub.Requests.Count;
        var chat = fixture.Service.CreateOpenAiClient().GetChatClient("gpt-0-nonexistent");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hello")], null, _timeout));

        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.Message);
        Assert.Equal(before, fixture.Stub.Requests.Count);
    }

    [Fact]
    public async Task XCodex_DangerFullAccessWithoutTheServerFlag_Is400BeforeAnyCliRuns()
    {
        var before = fixture.Stub.Requests.Count;
        using var http = fixture.Service.CreateHttpClient();

        using var response = await http.PostAsJsonAsync("v1/responses",
            new { model = StubModelServer.CodexModel, input = "rm -rf /", x_codex = new { sandbox = "danger-full-access" } }, _timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error");
        Assert.Equal("x_codex.sandbox", error.GetProperty("param").GetString());
        Assert.Equal("privilege_not_allowed", error.GetProperty("code").GetString());
        Assert.Equal(before, fixture.Stub.Requests.Count);
    }

    [Fact]
    public async Task XCodex_TimeoutLowerThanTheServers_EndsASlowTurnWith504()
    {
        using var http = fixture.Service.CreateHttpClient();
        var stopwatch = Stopwatch.StartNew();

        using var response = await http.PostAsJsonAsync("v1/responses",
            new { model = StubModelServer.MagicModels.Slow, input = "take your time", x_codex = new { timeout = 3 } }, _timeout);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", JsonDocument.Parse(await response.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error").GetProperty("code").GetString());
        // The slow stub needs 30 s for its answer; the request's own 3-s deadline ended it (bounded generously for a loaded machine).
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(20));
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(15)));
    }

    [Theory]
    [InlineData(StubModelServer.MagicModels.RateLimited)]
    [InlineData("claude-" + StubModelServer.MagicModels.RateLimited)]
    public async Task Upstream_RateLimited_Is429WithRetryAfterFromTheWarmWorkers(string model)
    {
        using var http = fixture.Service.CreateHttpClient();

        using var response = await http.PostAsJsonAsync("v1/responses", new { model, input = "too many" }, _timeout);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_exceeded", JsonDocument.Parse(await response.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Pool_AllWorkersBusyAndTheQueueFull_Is429WithRetryAfter()
    {
        await using var service = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey,
            ["--Workers:Codex", "1", "--Workers:MaxQueuedTurns", "0", "--Api:RetryAfterSeconds", "7"]);
        using var http = service.CreateHttpClient();

        // The only Codex worker is busy with a slow streamed turn…
        using var busy = new CancellationTokenSource();
        using var slowRequest = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = JsonContent.Create(new { model = StubModelServer.MagicModels.Slow, input = "hold the worker", stream = true }),
        };
        using var slow = await http.SendAsync(slowRequest, HttpCompletionOption.ResponseHeadersRead, busy.Token);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        await using var events = await slow.Content.ReadAsStreamAsync(busy.Token);
        using var reader = new StreamReader(events);
        while (await reader.ReadLineAsync(busy.Token) is { } line && !line.Contains("response.output_text.delta", StringComparison.Ordinal))
        {
        }

        // …so the next Codex turn is refused at once, while Claude still answers.
        var stopwatch = Stopwatch.StartNew();
        using var refused = await http.PostAsJsonAsync("v1/responses", new { model = StubModelServer.CodexModel, input = "one more" }, _timeout);
        var refusedAfter = stopwatch.Elapsed;
        using var claude = await http.PostAsJsonAsync("v1/responses", new { model = StubModelServer.ClaudeModel, input = "other provider" }, _timeout);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error");
        Assert.Equal("queue_full", error.GetProperty("code").GetString());
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.True(refusedAfter < TimeSpan.FromSeconds(10), $"refused after {refusedAfter}");
        Assert.Equal(HttpStatusCode.OK, claude.StatusCode);
        await busy.CancelAsync();
    }
}
