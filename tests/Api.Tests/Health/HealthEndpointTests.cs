using System.Net;
using System.Text.Json;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.Health;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Get_AllAvailable_IsOk()
    {
        using var factory = new ApiFactory();

        var response = await factory.CreateClient().GetAsync("/health");

        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal(["claude", "codex"], body.GetProperty("providers").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task Get_OneUnavailable_IsDegradedWithWhatToDo()
    {
        using var factory = new ApiFactory();
        factory.Providers.MakeUnavailable(CliProvider.Codex, "codex is not installed: run 'npm ci' in tools/.");

        var body = JsonDocument.Parse(await factory.CreateClient().GetStringAsync("/health")).RootElement;

        Assert.Equal("degraded", body.GetProperty("status").GetString());
        var codex = body.GetProperty("providers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "codex");
        Assert.False(codex.GetProperty("available").GetBoolean());
        Assert.Contains("npm ci", codex.GetProperty("message").GetString());
    }
}
