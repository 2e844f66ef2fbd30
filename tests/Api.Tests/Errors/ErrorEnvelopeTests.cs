using System.Net;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Grains.Conversations;
using static OrleansCodex.Api.Tests.TestDoubles.HttpAssert;

namespace OrleansCodex.Api.Tests.Errors;

public sealed class ErrorEnvelopeTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _factory;
    private readonly HttpClient _client;

    public ErrorEnvelopeTests(ApiFactory factory)
    {
        _factory = factory;
        _factory.Conversations.Script = (_, ct) => Scripts.Answer(ct, "ok");
        _client = factory.CreateAuthorizedClient();
    }

    [Fact]
    public async Task PostResponses_MalformedJson_Is400Envelope()
    {
        var response = await _client.PostAsync("/v1/responses", JsonBody("{\"model\":"));

        await ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task PostChat_WrongFieldType_Is400NamingTheField()
    {
        var response = await _client.PostAsync("/v1/chat/completions", JsonBody("""{"model":5,"messages":[]}"""));

        await ErrorAsync(response, HttpStatusCode.BadRequest, param: "model");
    }

    [Fact]
    public async Task PostResponses_WrongContentType_Is415Envelope()
    {
        var response = await _client.PostAsync("/v1/responses", new StringContent("""{"model":"gpt-5.5","input":"hi"}""", System.Text.Encoding.UTF8, "text/plain"));

        await ErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_content_type");
    }

    [Fact]
    public async Task PostResponses_BodyTooLarge_Is413Envelope()
    {
        var big = new string('a', 100_000);

        var response = await _client.PostAsync("/v1/responses", JsonBody($$"""{"model":"gpt-5.5","input":"{{big}}"}"""));

        await ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
    }

    [Fact]
    public async Task PostResponses_MissingModel_Is400NamingModel()
    {
        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"input":"hi"}"""));

        await ErrorAsync(response, HttpStatusCode.BadRequest, param: "model");
    }

    [Fact]
    public async Task PostResponses_InjectionInModel_Is400BeforeAnyGrainCall()
    {
        var before = _factory.Conversations.Turns.Count;

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"$(touch /tmp/pwned)","input":"hi"}"""));

        await ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_model", "model");
        Assert.Equal(before, _factory.Conversations.Turns.Count);
    }

    [Fact]
    public async Task Get_UnknownRoute_Is404Envelope()
    {
        var response = await _client.GetAsync("/v1/nothing-here");

        await ErrorAsync(response, HttpStatusCode.NotFound, "unknown_url");
    }

    [Fact]
    public async Task Put_KnownRoute_Is405Envelope()
    {
        var response = await _client.PutAsync("/v1/models", JsonBody("{}"));

        await ErrorAsync(response, HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task PostResponses_GrainThrows_Is500WithoutDetails()
    {
        _factory.Conversations.Script = (_, _) => Scripts.ThenThrow();

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi"}"""));

        var error = await ErrorAsync(response, HttpStatusCode.InternalServerError, "server_error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("node went away", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task PostResponses_UpstreamRateLimited_Is429WithRetryAfter()
    {
        _factory.Conversations.Script = (_, _) => Scripts.Of(TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamRateLimited, "Upstream rate limit.")));

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi"}"""));

        await ErrorAsync(response, HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task PostResponses_UpstreamAuthFailure_Is502NotOurClients401()
    {
        _factory.Conversations.Script = (_, _) => Scripts.Of(TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamAuth, "Run 'codex login' on the server.")));

        var response = await _client.PostAsync("/v1/responses", JsonBody("""{"model":"gpt-5.5","input":"hi"}"""));

        var error = await ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_auth_error");
        Assert.Contains("codex login", error.GetProperty("message").GetString());
    }
}
