using System.Net;
using OrleansCodex.Api.Tests.TestDoubles;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.Auth;

public sealed class ApiKeyTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task GetModels_MissingKey_Is401InvalidApiKey()
    {
        var response = await factory.CreateClient().GetAsync("/v1/models");

        var error = await ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task GetModels_WrongKey_Is401InvalidApiKey()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", ApiFactory.ApiKey + "x");

        await ErrorAsync(await client.GetAsync("/v1/models"), HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task UnknownV1Route_MissingKey_Is401NotRevealingRoutes()
    {
        await ErrorAsync(await factory.CreateClient().GetAsync("/v1/secret"), HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task PostResponses_MissingKey_Is401BeforeAnyGrainCall()
    {
        var before = factory.Conversations.Turns.Count;

        var response = await factory.CreateClient().PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi"}"""));

        await ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal(before, factory.Conversations.Turns.Count);
    }

    [Fact]
    public async Task GetHealth_MissingKey_IsOpen()
    {
        var response = await factory.CreateClient().GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task GetModels_ProxyApiKeyAlias_IsRequiredAndAccepted()
    {
        using var aliased = new ApiFactory();
        aliased.Settings.Remove("Auth:ApiKey");
        aliased.Settings["PROXY_API_KEY"] = "alias-key";
        var client = aliased.CreateClient();

        await ErrorAsync(await client.GetAsync("/v1/models"), HttpStatusCode.Unauthorized, "invalid_api_key");
        client.DefaultRequestHeaders.Authorization = new("Bearer", "alias-key");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task GetModels_NoKeyConfigured_IsOpenOnLoopback()
    {
        using var open = new ApiFactory();
        open.Settings.Remove("Auth:ApiKey");

        Assert.Equal(HttpStatusCode.OK, (await open.CreateClient().GetAsync("/v1/models")).StatusCode);
    }
}
