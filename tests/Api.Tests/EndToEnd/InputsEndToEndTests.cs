using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Responses;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>Images, structured output and the server's own limits (local-only, idle timeout), through the official SDK where it has the shape.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class InputsEndToEndTests(ServiceFixture fixture)
{
    /// <summary>A 1×1 PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private const string Schema = """
        {"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"},"capital":{"type":"boolean"},
         "kind":{"type":"string","enum":["town","city"]}},"required":["city","population","capital","kind"],"additionalProperties":false}
        """;

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Image_ThroughResponses_ReachesTheModelWithItsBytes()
    {
        var client = fixture.Service.CreateOpenAiClient().GetResponsesClient();
        var input = ResponseItem.CreateUserMessageItem(
            [ResponseContentPart.CreateInputTextPart("kilo what is in this picture"), ResponseContentPart.CreateInputImagePart(new BinaryData(Png, mediaType: "image/png"), "image/png")]);

        ResponseResult result = await client.CreateResponseAsync(new CreateResponseOptions(StubModelServer.CodexModel, [input]), _timeout);

        Assert.Contains("kilo what is in this picture", result.GetOutputText());
        var request = fixture.Stub.Requests.Last(r => r.Api == StubApi.Responses && r.Answer.Contains("kilo what is in this picture", StringComparison.Ordinal));
        var image = Assert.Single(request.ResponsesImages());
        Assert.Equal(Png, image.Bytes);
    }

    [Fact]
    public async Task Image_ThroughChatToClaude_ReachesTheModelWithItsBytes()
    {
        var chat = fixture.Service.CreateOpenAiClient().GetChatClient(StubModelServer.ClaudeModel);

        ChatCompletion completion = await chat.CompleteChatAsync(
            [new UserChatMessage(ChatMessageContentPart.CreateTextPart("lima describe it"), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(Png), "image/png"))],
            null, _timeout);

        Assert.Contains("lima describe it", completion.Content[0].Text);
        var request = fixture.Stub.Requests.Last(r => r.Api == StubApi.Messages && r.Answer.Contains("lima describe it", StringComparison.Ordinal));
        var image = Assert.Single(request.MessagesImages);
        Assert.Equal(("base64", "image/png", Png.Length), (image.SourceType, image.MediaType, image.ByteLength));
    }

    [Theory]
    [InlineData(StubModelServer.CodexModel)]
    [InlineData(StubModelServer.ClaudeModel)]
    public async Task JsonSchema_ThroughResponses_AnswersWithSchemaShapedJson(string model)
    {
        var client = fixture.Service.CreateOpenAiClient().GetResponsesClient();
        var options = new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("mike which city?")])
        {
            TextOptions = new ResponseTextOptions { TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(Schema), jsonSchemaIsStrict: true) },
        };

        ResponseResult result = await client.CreateResponseAsync(options, _timeout);

        AssertSchemaShaped(result.GetOutputText());
        using var http = fixture.Service.CreateHttpClient();
        var stored = JsonDocument.Parse(await http.GetStringAsync($"v1/responses/{result.Id}", _timeout)).RootElement;
        var format = stored.GetProperty("text").GetProperty("format");
        Assert.Equal(("json_schema", "city", true), (format.GetProperty("type").GetString(), format.GetProperty("name").GetString(), format.GetProperty("strict").GetBoolean()));
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(Schema).RootElement, format.GetProperty("schema")), $"stored schema {format.GetProperty("schema")}");
    }

    [Theory]
    [InlineData(StubModelServer.CodexModel)]
    [InlineData(StubModelServer.ClaudeModel)]
    public async Task JsonObject_ThroughResponses_TellsTheCliAndEchoesTheFormatAndTheClientsOwnInstructions(string model)
    {
        using var http = fixture.Service.CreateHttpClient();
        const string Instructions = "Be brief. STUB-INSTRUCTION:heron";
        var input = $"oscar json object {model}";

        using var created = await http.PostAsJsonAsync("v1/responses",
            new { model, input, instructions = Instructions, text = new { format = new { type = "json_object" } } }, _timeout);
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync(_timeout)).RootElement;
        var stored = JsonDocument.Parse(await http.GetStringAsync($"v1/responses/{body.GetProperty("id").GetString()}", _timeout)).RootElement;

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        foreach (var response in new[] { body, stored })
        {
            Assert.Equal("""{"type":"json_object"}""", response.GetProperty("text").GetProperty("format").GetRawText());
            Assert.Equal(Instructions, response.GetProperty("instructions").GetString());
        }

        var request = fixture.Stub.Requests.Last(r => r.Conversation.UserTexts.Any(t => t.Contains(input, StringComparison.Ordinal)));
        Assert.Contains("one valid JSON object", request.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("heron", request.Conversation.Instruction);
    }

    [Fact]
    public async Task JsonSchema_ThroughChat_AnswersWithSchemaShapedJson()
    {
        var chat = fixture.Service.CreateOpenAiClient().GetChatClient(StubModelServer.CodexModel);
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(Schema), jsonSchemaIsStrict: true) };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("november which city?")], options, _timeout);

        AssertSchemaShaped(completion.Content[0].Text);
    }

    [Fact]
    public async Task Server_LocalOnlyAndIdleTimeout_RefuseARemoteProviderAndEndASilentTurn()
    {
        await using var service = await ServiceFixture.StartServiceAsync(fixture.Cli, ServiceFixture.ApiKey,
        [
            "--Cli:LocalOnly", "true",
            "--Cli:ExtraEnvironment:ANTHROPIC_BASE_URL", "https://api.anthropic.example",
            "--Cli:IdleTimeout", "00:00:03",
        ]);
        using var http = service.CreateHttpClient();
        var before = fixture.Stub.RequestsFor(StubModelServer.ClaudeModel).Count;

        using var claude = await http.PostAsJsonAsync("v1/responses", new { model = StubModelServer.ClaudeModel, input = "oscar remote" }, _timeout);
        var silentStarted = System.Diagnostics.Stopwatch.StartNew();
        using var silent = await http.PostAsJsonAsync("v1/responses", new { model = StubModelServer.MagicModels.Hang, input = "papa silent" }, _timeout);
        var silentAfter = silentStarted.Elapsed;
        using var codex = await http.PostAsJsonAsync("v1/responses", new { model = StubModelServer.CodexModel, input = "quebec local" }, _timeout);

        Assert.Equal(HttpStatusCode.BadRequest, claude.StatusCode);
        var refusal = JsonDocument.Parse(await claude.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error");
        Assert.Equal("provider_not_local", refusal.GetProperty("code").GetString());
        Assert.Contains("api.anthropic.example", refusal.GetProperty("message").GetString());
        Assert.Equal(before, fixture.Stub.RequestsFor(StubModelServer.ClaudeModel).Count);

        Assert.Equal(HttpStatusCode.GatewayTimeout, silent.StatusCode);
        Assert.Equal("timeout", JsonDocument.Parse(await silent.Content.ReadAsStringAsync(_timeout)).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.True(silentAfter < TimeSpan.FromSeconds(30), $"the silent turn ended after {silentAfter}");

        Assert.Equal(HttpStatusCode.OK, codex.StatusCode);
        Assert.Contains("quebec local", await codex.Content.ReadAsStringAsync(_timeout));
    }

    private static void AssertSchemaShaped(string text)
    {
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.String, root.GetProperty("city").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("population").ValueKind);
        Assert.Equal(JsonValueKind.True, root.GetProperty("capital").ValueKind);
        Assert.Equal("town", root.GetProperty("kind").GetString());
    }
}
