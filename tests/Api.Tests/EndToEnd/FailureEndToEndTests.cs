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

    /// <summary>
    /// A client that goes away mid-stream cancels its turn: the CLI stops it (Codex's warm app-server interrupts it; a warm Claude
    /// process is interrupted and, its session no longer trusted, ended; a per-turn CLI is killed), the model stream is closed, the turn is stored as cancelled, and the next turn works. After several such turns no
    /// process has piled up: what remains is what ran before them, the warm app-server (and what it keeps) included, except that
    /// each new Claude conversation took a spare Claude process (<c>Workers:ClaudeSpares</c>) whose replacement now runs instead.
    /// </summary>
    [Theory]
    [InlineData(StubModelServer.MagicModels.Slow, StubModelServer.CodexModel)]
    [InlineData("claude-stub-slow", StubModelServer.ClaudeModel)]
    public async Task Stream_ClientDisconnects_CancelsTheTurnAndEndsTheCli(string slowModel, string model)
    {
        using var http = fixture.Service.CreateHttpClient();
        string warmUpId;
        using (var warmUp = await http.PostAsync("v1/responses", Json(new { model, input = "zulu warm-up" }), _timeout))
        {
            Assert.Equal(HttpStatusCode.OK, warmUp.StatusCode);
            warmUpId = JsonDocument.Parse(await warmUp.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("id").GetString()!;
        }

        var processesBefore = fixture.Service.Descendants();
        var clisBefore = fixture.Service.CliProcesses();
        var codexHomeEntry = $"CODEX_HOME={fixture.Cli.CodexHome}";
        var withCodexHomeBefore = ProcessTree.WithEnvironmentEntry(codexHomeEntry);

        for (var turn = 0; turn < 3; turn++)
        {
            var responseId = await StartAndAbandonStreamAsync(http, slowModel, $"zulu slow {turn}");

            Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(10)), $"turn {turn}: the model stream is still open");
            Assert.Equal("cancelled", await WaitForStatusAsync(http, responseId, "cancelled"));
        }

        // It continues the warm-up conversation, so it runs in the warm process that conversation already has (Claude) or in the
        // node's one app-server (Codex): a new conversation would rightly leave one more warm Claude process.
        using var next = await http.PostAsync("v1/responses",
            Json(new { model, input = "zulu after the cancelled turns", previous_response_id = warmUpId }), _timeout);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains("zulu after the cancelled turns", await next.Content.ReadAsStringAsync(_timeout));

        // Each new Codex thread has its app-server start a login shell (bash -lc) for a snapshot of the environment; those end by
        // themselves. Counted in the service's tree and, for anything reparented, by the Codex home in the environment.
        var stopwatch = Stopwatch.StartNew();
        while ((fixture.Service.Descendants().Count > processesBefore.Count
                || ProcessTree.WithEnvironmentEntry(codexHomeEntry).Count > withCodexHomeBefore.Count
                || !SameClisButReplacedSpares(clisBefore, fixture.Service.CliProcesses()))
            && stopwatch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100, _timeout);
        }

        var processesAfter = fixture.Service.Descendants();
        var withCodexHomeAfter = ProcessTree.WithEnvironmentEntry(codexHomeEntry);
        var clisAfter = fixture.Service.CliProcesses();
        Assert.True(SameClisButReplacedSpares(clisBefore, clisAfter),
            $"CLIs before: {string.Join(", ", clisBefore.Select(Described))}; after: {string.Join(", ", clisAfter.Select(Described))}");
        Assert.True(processesAfter.Count <= processesBefore.Count,
            $"before: {string.Join(", ", processesBefore)}; after: {string.Join(", ", processesAfter)}");
        Assert.True(withCodexHomeAfter.Count <= withCodexHomeBefore.Count,
            $"before: {string.Join(", ", withCodexHomeBefore)}; after: {string.Join(", ", withCodexHomeAfter)}");
    }

    /// <summary>
    /// As many CLI processes as before, and each one that is new is a spare Claude process: its directory is a spare's
    /// (<c>claude-…</c>) and still empty (no turn ran in it).
    /// </summary>
    private static bool SameClisButReplacedSpares(IReadOnlyList<int> before, IReadOnlyList<int> after) =>
        after.Count == before.Count && after.Except(before).All(pid => IsSpare(WorkingDirectoryOf(pid)));

    private static bool IsSpare(string? directory) =>
        directory is not null && Path.GetFileName(directory).StartsWith("claude-", StringComparison.Ordinal) && Directory.Exists(directory)
        && !Directory.EnumerateFileSystemEntries(directory).Any();

    private static string? WorkingDirectoryOf(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/cwd").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Described(int pid) => $"{pid} in {WorkingDirectoryOf(pid) ?? "(gone)"}";

    /// <summary>Starts a streamed turn, waits until its model stream runs, then drops the connection; returns the turn's response id.</summary>
    private async Task<string> StartAndAbandonStreamAsync(HttpClient http, string model, string input)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses") { Content = Json(new { model, input, stream = true }) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_timeout));
        string? responseId = null;
        while (responseId is null && await reader.ReadLineAsync(_timeout) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var data = JsonDocument.Parse(line["data: ".Length..]);
                if (data.RootElement.TryGetProperty("response", out var r))
                {
                    responseId = r.GetProperty("id").GetString();
                }
            }
        }

        Assert.NotNull(responseId);

        // The turn is under way once the stub streams its answer (codex exec reports text only at the end, so deltas cannot tell).
        var started = Stopwatch.StartNew();
        while (fixture.Stub.ActiveStreams == 0 && started.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, _timeout);
        }

        Assert.True(fixture.Stub.ActiveStreams > 0, "the slow model stream never started");
        await Task.Delay(500, _timeout);
        return responseId;
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
