using System.Text.Json;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Responses;
using OrleansCodex.Api.Tests.Turns;

namespace OrleansCodex.Api.Tests.Responses;

public sealed class ResponsesRequestParserTests
{
    private static ResponsesTurnInput Parse(string json) =>
        ResponsesRequestParser.Parse(JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.CreateResponseRequest)!, TurnPolicyTests.Policy());

    private static OpenAiException Fails(string json) => Assert.Throws<OpenAiException>(() => Parse(json));

    [Fact]
    public void Parse_StringInput_IsOneUserMessage()
    {
        var input = Parse("""{"model":"gpt-5.5","input":"hi"}""");

        var message = Assert.Single(input.Input);
        Assert.Equal("user", message.Role);
        Assert.Equal("input_text", Assert.Single(message.Content).Type);
        Assert.Equal("hi", message.Text);
        Assert.True(input.Store);
        Assert.False(input.Stream);
    }

    [Fact]
    public void ParseInput_InputImage_KeepsItsUrl()
    {
        using var json = JsonDocument.Parse("""[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"}]}]""");

        var input = ResponsesRequestParser.ParseInput(json.RootElement);

        Assert.Equal("data:image/png;base64,AAAA", Assert.Single(Assert.Single(input).Content).ImageUrl);
    }

    [Fact]
    public void Parse_RemoteInputImage_Is400WhileRemoteImagesAreDisabled()
    {
        var error = Fails("""{"model":"gpt-5.5","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/i.png"}]}]}""");

        Assert.Equal("input", error.Param);
        Assert.Equal("remote_images_disabled", error.Code);
    }

    [Fact]
    public void Parse_JsonSchemaTextFormat_BecomesTheOutputFormat()
    {
        var input = Parse("""
            {"model":"gpt-5.5","input":"hi","text":{"format":{"type":"json_schema","name":"answer","strict":true,
             "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}
            """);

        var format = input.Controls.OutputFormat!;
        Assert.Equal("answer", format.Name);
        Assert.True(format.Strict);
        Assert.Contains("\"required\":[\"a\"]", format.Schema);
    }

    [Fact]
    public void Parse_ItemsWithPartsAndTypedMessages_KeepsRolesAndParts()
    {
        var input = Parse("""
            {"model":"gpt-5.5","input":[
              {"role":"developer","content":"be brief"},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"what is this?"},{"type":"input_text","text":"a second part"}]},
              {"role":"assistant","content":[{"type":"output_text","text":"a dot","annotations":[]}]},
              {"type":"reasoning","id":"rs_1","summary":[]},
              {"role":"user","content":"thanks"}
            ],"instructions":"sys","store":false,"stream":true,"metadata":{"a":"b"},"reasoning":{"effort":"high"},
            "tools":[{"type":"function","name":"f","parameters":{}}],"tool_choice":"auto","truncation":"auto","user":"u","max_output_tokens":50,"text":{"format":{"type":"text"}}}
            """);

        Assert.Equal(["developer", "user", "assistant", "user"], input.Input.Select(m => m.Role));
        Assert.Equal(["what is this?", "a second part"], input.Input[1].Content.Select(c => c.Text));
        Assert.Equal("output_text", input.Input[2].Content[0].Type);
        Assert.Equal("sys", input.Instructions);
        Assert.False(input.Store);
        Assert.True(input.Stream);
        Assert.Equal("b", input.Metadata!["a"]);
        Assert.Equal("high", input.Controls.ReasoningEffort);
        Assert.Null(input.Controls.OutputFormat);
        Assert.Equal(50, input.MaxOutputTokens);
    }

    [Fact]
    public void Parse_UnknownContentPart_Is400NamingThePart()
    {
        var error = Fails("""{"model":"gpt-5.5","input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_audio","data":"x"}]}]}""");

        Assert.Equal(400, error.StatusCode);
        Assert.Equal("input[0].content[1].type", error.Param);
        Assert.Contains("input_audio", error.Message);
    }

    [Fact]
    public void Parse_UnknownItemType_Is400NamingTheItem()
    {
        Assert.Equal("input[0].type", Fails("""{"model":"gpt-5.5","input":[{"type":"item_reference","id":"x"}]}""").Param);
    }

    [Fact]
    public void Parse_BadRole_Is400NamingTheRole()
    {
        Assert.Equal("input[0].role", Fails("""{"model":"gpt-5.5","input":[{"role":"wizard","content":"x"}]}""").Param);
    }

    [Theory]
    [InlineData("""{"model":"gpt-5.5"}""")]
    [InlineData("""{"model":"gpt-5.5","input":""}""")]
    [InlineData("""{"model":"gpt-5.5","input":[]}""")]
    [InlineData("""{"model":"gpt-5.5","input":42}""")]
    public void Parse_MissingOrEmptyInput_Is400NamingInput(string json)
    {
        Assert.Equal("input", Fails(json).Param);
    }

    [Theory]
    [InlineData("; rm -rf /")]
    [InlineData("$(x)")]
    [InlineData("-rf")]
    public void Parse_BadModel_Is400NamingModel(string model)
    {
        Assert.Equal("model", Fails($$"""{"model":{{JsonSerializer.Serialize(model)}},"input":"hi"}""").Param);
    }

    [Fact]
    public void Parse_PreviousResponseAndConversation_Is400()
    {
        var error = Fails("""{"model":"gpt-5.5","input":"hi","previous_response_id":"resp_1","conversation":"conv_1"}""");

        Assert.Contains("cannot be used together", error.Message);
    }

    [Fact]
    public void Parse_BadReasoningEffort_Is400()
    {
        Assert.Equal("reasoning.effort", Fails("""{"model":"gpt-5.5","input":"hi","reasoning":{"effort":"max"}}""").Param);
    }

    [Fact]
    public void Deserialize_NonStringMetadataValue_IsJsonErrorWithPath()
    {
        var exception = Assert.ThrowsAny<JsonException>(() => Parse("""{"model":"gpt-5.5","input":"hi","metadata":{"a":1}}"""));

        Assert.Equal("metadata.a", OpenAiErrors.FromException(exception).Param);
    }
}
