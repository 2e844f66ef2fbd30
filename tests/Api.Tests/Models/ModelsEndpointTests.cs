using System.Net;
using System.Text.Json;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Tests.TestDoubles;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.Models;

public sealed class ModelsEndpointTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task List_Default_HasEveryCatalogModelWithOwner()
    {
        var body = JsonDocument.Parse(await factory.CreateAuthorizedClient().GetStringAsync("/v1/models")).RootElement;

        Assert.Equal("list", body.GetProperty("object").GetString());
        var models = body.GetProperty("data").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!, m => m);
        Assert.Equal(ModelsOptions.DefaultCodexModels.Concat(ModelsOptions.DefaultClaudeModels).Order(), models.Keys.Order());
        Assert.Equal("openai-codex", models["gpt-5.5"].GetProperty("owned_by").GetString());
        Assert.Equal("anthropic-claude-code", models["opus"].GetProperty("owned_by").GetString());
        Assert.All(models.Values, m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.True(m.GetProperty("created").GetInt64() > 0);
        });
    }

    [Fact]
    public async Task Get_Known_ReturnsTheModel()
    {
        var model = JsonDocument.Parse(await factory.CreateAuthorizedClient().GetStringAsync("/v1/models/claude-sonnet-5")).RootElement;

        Assert.Equal("claude-sonnet-5", model.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Get_Unknown_Is404ModelNotFound()
    {
        await ErrorAsync(await factory.CreateAuthorizedClient().GetAsync("/v1/models/gpt-0"), HttpStatusCode.NotFound, "model_not_found");
    }

    [Fact]
    public async Task List_ExtraAndReplacedLists_AreServed()
    {
        using var custom = new ApiFactory();
        custom.Settings["Models:Codex:0"] = "gpt-only";
        custom.Settings["Models:Extra:0"] = "claude-extra-1";

        var body = JsonDocument.Parse(await custom.CreateAuthorizedClient().GetStringAsync("/v1/models")).RootElement;

        var ids = body.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("gpt-only", ids);
        Assert.DoesNotContain("gpt-5.5", ids);
        Assert.Contains("claude-extra-1", ids);
        Assert.Contains("opus", ids);
    }
}
