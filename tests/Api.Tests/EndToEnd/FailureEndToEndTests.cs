using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text;
using OpenAI.Responses;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>What a client sees when things go wrong, against the running service and the real CLIs.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class FailureEndToEndTests(ServiceFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Request_MalformedJson_Is400InOpenAiEnvelope()
    {
        using var http = fixture.Service.CreateHttpClient();

        using var response = await http.PostAsync("v1/responses", new StringContent("{\"model\": \"gpt-5.5\", \"input\": ", Encoding.UTF8, "application/json"), _timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Request_WrongApiKey_Is401()
    {
        var client = fixture.Service.CreateOpenAiClient(apiKey: "sk-wrong").GetResponsesClient();
        using var http = fixture.Service.CreateHttpClient(apiKey: "sk-wrong");

        var sdk = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(StubModelServer.CodexModel, "whiskey", null, _timeout));
        using var models = await http.GetAsync("v1/models", _timeout);

        Assert.Equal(401, sdk.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.Equal("invalid_api_key", (await ErrorOf(models)).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("gpt-5.5; touch /tmp/pwned")]
    [InlineData("$(id)")]
    [InlineData("-c model_provider=evil")]
    public async Task Request_UnsafeModelName_Is400BeforeAnyCliRuns(string model)
    {
        var before = fixture.Stub.Requests.Count;
        var client = fixture.Service.CreateOpenAiClient().GetResponsesClient();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(model, "xray", null, _timeout));

        Assert.Equal(400, error.Status);
        Assert.Contains("model", error.Message);
        Assert.Equal(before, fixture.Stub.Requests.Count);
    }

    [Theory]
    [InlineData("stub-401")]
    [InlineData("claude-stub-401")]
    public async Task Turn_UpstreamRejectsTheCliLogin_Is502UpstreamAuthErrorNotOur401(string model)
    {
        using var http = fixture.Service.CreateHttpClient();

        using var response = await http.PostAsync("v1/responses", Json(new { model, input = "yankee" }), _timeout);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("upstream_auth_error", error.GetProperty("code").GetString());
        Assert.Matches("(?i)log ?in", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData(StubModelServer.MagicModels.Slow)]
    [InlineData("claude-stub-slow")]
    public async Task Stream_ClientDisconnects_CancelsTheTurnAndEndsTheCli(string model)
    {
        using var http = fixture.Service.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses") { Content = Json(new { model, input = "zulu slow", stream = true }) };
        string? responseId = null;

        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _timeout))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_timeout));
            while (await reader.ReadLineAsync(_timeout) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    using var data = JsonDocument.Parse(line["data: ".Length..]);
                    if (data.RootElement.TryGetProperty("response", out var r) && responseId is null)
                    {
                        responseId = r.GetProperty("id").GetString();
                    }

                    if (responseId is not null)
                    {
                        break;
                    }
                }
            }

            // The turn is under way once its CLI runs (codex exec only reports text at the end, so deltas cannot be the signal).
            var started = Stopwatch.StartNew();
            while (fixture.Service.CliProcesses().Count == 0 && started.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50, _timeout);
            }

            Assert.NotEmpty(fixture.Service.CliProcesses());
            await Task.Delay(500, _timeout);
        }

        // Disposing the response aborts the connection: the service must end the CLI promptly and store the turn as cancelled.
        var stopwatch = Stopwatch.StartNew();
        while (fixture.Service.CliProcesses().Count > 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100, _timeout);
        }

        Assert.Empty(fixture.Service.CliProcesses());
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(10)));
        var stored = await WaitForStatusAsync(http, responseId!, "cancelled");
        Assert.Equal("cancelled", stored);
    }

    [Fact]
    public async Task Provider_CliMissing_HealthSaysWhatToDoAndItsModelsAre503()
    {
        await using var service = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey, ["--Cli:ClaudePath", "/nonexistent/claude"]);
        using var http = service.CreateHttpClient();

        using var health = await http.GetAsync("health", _timeout);
        var healthJson = JsonDocument.Parse(await health.Content.ReadAsStringAsync(_timeout)).RootElement.GetRawText();
        using var claude = await http.PostAsync("v1/responses", Json(new { model = "sonnet", input = "alpha" }), _timeout);
        using var codex = await http.PostAsync("v1/responses", Json(new { model = StubModelServer.CodexModel, input = "bravo-still-works" }), _timeout);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("npm ci", healthJson);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, claude.StatusCode);
        Assert.Contains("npm ci", (await ErrorOf(claude)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, codex.StatusCode);
        Assert.Contains("bravo-still-works", await codex.Content.ReadAsStringAsync(_timeout));
    }

    private async Task<string?> WaitForStatusAsync(HttpClient http, string responseId, string expected)
    {
        string? status = null;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var response = await http.GetAsync($"v1/responses/{responseId}", _timeout);
            if (response.IsSuccessStatusCode)
            {
                status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("status").GetString();
                if (status == expected)
                {
                    break;
                }
            }

            await Task.Delay(100, _timeout);
        }

        return status;
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(_timeout);
        using var document = JsonDocument.Parse(body);
        Assert.Equal(["error"], document.RootElement.EnumerateObject().Select(p => p.Name));
        var error = document.RootElement.GetProperty("error").Clone();
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        return error;
    }
}
