using System.Diagnostics;
using System.Text.Json;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary><c>GET /health</c> of a real node: what its CLI workers are doing, for operators.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class HealthEndToEndTests(ServiceFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Health_Workers_ShowTheWarmAppServerAndTheReadyClaudeSparesOfAnIdleNode()
    {
        using var http = fixture.Service.CreateHttpClient();

        // Spares taken by earlier tests are replaced within a moment; wait (bounded) for the idle picture.
        var (codex, claude) = await WaitForAsync(http, (codex, claude) =>
            codex.GetProperty("warm_processes").GetInt32() == 1 && claude.GetProperty("spares").GetInt32() == 2
            && codex.GetProperty("busy").GetInt32() == 0 && claude.GetProperty("busy").GetInt32() == 0);

        Assert.Equal(("app-server", 4, 0), (codex.GetProperty("mode").GetString(), codex.GetProperty("slots").GetInt32(), codex.GetProperty("queued").GetInt32()));
        Assert.False(codex.TryGetProperty("spares", out _), "Codex has no spares");
        Assert.Equal(("stream", 4, 0), (claude.GetProperty("mode").GetString(), claude.GetProperty("slots").GetInt32(), claude.GetProperty("queued").GetInt32()));
    }

    [Fact]
    public async Task Health_Workers_ClaudeMissing_HasNoSparesOrWarmProcesses()
    {
        await using var service = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey, ["--Cli:ClaudePath", "/nonexistent/claude"]);
        using var http = service.CreateHttpClient();

        var (_, claude) = await WaitForAsync(http, (codex, _) => codex.GetProperty("warm_processes").GetInt32() == 1);

        Assert.Equal((0, 0), (claude.GetProperty("spares").GetInt32(), claude.GetProperty("warm_processes").GetInt32()));
    }

    private async Task<(JsonElement Codex, JsonElement Claude)> WaitForAsync(HttpClient http, Func<JsonElement, JsonElement, bool> done)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var workers = JsonDocument.Parse(await http.GetStringAsync("health", _timeout)).RootElement.GetProperty("workers").EnumerateArray().ToList();
            var codex = workers.Single(w => w.GetProperty("provider").GetString() == "codex");
            var claude = workers.Single(w => w.GetProperty("provider").GetString() == "claude");
            if (done(codex, claude) || stopwatch.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.True(done(codex, claude), $"workers after {stopwatch.Elapsed}: {codex} {claude}");
                return (codex, claude);
            }

            await Task.Delay(200, _timeout);
        }
    }
}
