using System.Net;
using System.Text.Json;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.Models;

public sealed class ModelsEndpointTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task List_WithTheClisCatalogs_ListsThemPlusExtras()
    {
        using var custom = new ApiFactory();
        custom.ModelCatalog.Models[CliProvider.Codex] = ["gpt-9-cli"];
        custom.ModelCatalog.Models[CliProvider.Claude] = ["sonnet", "claude-sonnet-9"];
        custom.Settings["Models:Extra:0"] = "local-llama";

        var body = JsonDocument.Parse(await custom.CreateAuthorizedClient().GetStringAsync("/v1/models")).RootElement;

        var ids = body.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(["gpt-9-cli", "sonnet", "claude-sonnet-9", "local-llama"], ids);
    }

    [Theory]
    [InlineData("/v1/responses", """{"model":"gpt-0","input":"hi"}""")]
    [InlineData("/v1/chat/completions", """{"model":"claude-nonexistent","messages":[{"role":"user","content":"hi"}]}""")]
    public async Task Turn_UnlistedModel_Is404ModelNotFoundBeforeAnyGrainIsCalled(string path, string json)
    {
        using var custom = new ApiFactory();

        var response = await custom.CreateAuthorizedClient().PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        var error = await ErrorAsync(response, HttpStatusCode.NotFound, "model_not_found");
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Empty(custom.Conversations.Turns);
    }

    [Fact]
    public async Task Turn_UnlistedModelWithAllowUnlisted_ReachesTheConversation()
    {
        using var custom = new ApiFactory();
        custom.Settings["Models:AllowUnlisted"] = "true";

        var response = await custom.CreateAuthorizedClient().PostAsync("/v1/responses",
            new StringContent("""{"model":"my-local-model","input":"hi"}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("my-local-model", Assert.Single(custom.Conversations.Turns).Request.Model);
    }

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
