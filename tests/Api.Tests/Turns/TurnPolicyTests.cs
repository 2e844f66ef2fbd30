using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Tests.Turns;

public sealed class TurnPolicyTests
{
    public static TurnPolicy Policy(bool allowRemoteImages = false) =>
        new(Microsoft.Extensions.Options.Options.Create(new ApiOptions { AllowRemoteImages = allowRemoteImages }));

    private static TurnControls Controls(string extension, TurnPolicy? policy = null, string model = "gpt-5.5", string? effort = null)
    {
        using var json = JsonDocument.Parse(extension);
        return (policy ?? Policy()).ParseControls(json.RootElement.Clone(), model, effort, "reasoning.effort", null);
    }

    private static OpenAiException Refused(string extension, TurnPolicy? policy = null, string model = "gpt-5.5", string? effort = null) =>
        Assert.Throws<OpenAiException>(() => Controls(extension, policy, model, effort));

    [Fact]
    public void Controls_AnySandboxAndNetworkAccess_AreLeftToTheNodeThatRunsTheTurn()
    {
        // The front end checks syntax only; the conversation's silo applies its own privileges (TurnAdmission, Grains.Tests).
        var controls = Controls("""{"sandbox":"danger-full-access","network_access":true}""");

        Assert.Equal("danger-full-access", controls.Sandbox);
        Assert.True(controls.NetworkAccess);
    }

    [Theory]
    [InlineData("""{"sandbox":"full"}""", "x_codex.sandbox", "invalid_value")]
    [InlineData("""{"sandbox":1}""", "x_codex.sandbox", "invalid_type")]
    [InlineData("""{"network_access":"yes"}""", "x_codex.network_access", "invalid_type")]
    [InlineData("""{"reasoning_effort":"max"}""", "x_codex.reasoning_effort", "invalid_value")]
    [InlineData("""{"timeout":0}""", "x_codex.timeout", "invalid_value")]
    [InlineData("""{"timeout":"10"}""", "x_codex.timeout", "invalid_value")]
    [InlineData("""{"approval":"never"}""", "x_codex.approval", "unknown_parameter")]
    [InlineData("""[]""", "x_codex", "invalid_type")]
    public void Controls_InvalidExtension_Is400NamingTheField(string extension, string param, string code)
    {
        var error = Refused(extension);

        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Controls_TimeoutAndEffort_AreTaken()
    {
        var controls = Controls("""{"timeout":7.5,"reasoning_effort":"low"}""");

        Assert.Equal(TimeSpan.FromSeconds(7.5), controls.Timeout);
        Assert.Equal("low", controls.ReasoningEffort);
    }

    [Fact]
    public void Controls_EffortContradictingTheStandardField_Is400()
    {
        Assert.Equal("x_codex.reasoning_effort", Refused("""{"reasoning_effort":"low"}""", effort: "high").Param);
    }

    [Fact]
    public void Controls_SandboxForAClaudeModel_Is400()
    {
        var error = Refused("""{"sandbox":"read-only"}""", model: "sonnet");

        Assert.Equal("unsupported_parameter", error.Code);
    }

    private static IReadOnlyList<InputMessage> Image(string url) => [new InputMessage("user", [new ContentPart("input_image", ImageUrl: url)])];

    [Theory]
    [InlineData("file:///etc/passwd", "invalid_image_url")]
    [InlineData("ftp://example.com/a.png", "invalid_image_url")]
    [InlineData("data:text/plain;base64,aGk=", "invalid_image_format")]
    [InlineData("data:image/png;base64,!!!", "invalid_image")]
    [InlineData("data:image/png,rawbytes", "invalid_image_url")]
    [InlineData("https://example.com/a.png", "remote_images_disabled")]
    public void Images_Unsafe_Is400(string url, string code)
    {
        var error = Assert.Throws<OpenAiException>(() => Policy().ValidateImages(Image(url), "input", "gpt-5.5"));

        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Images_RemoteWhenAllowed_MustBeHttpsAndForClaude()
    {
        var policy = Policy(allowRemoteImages: true);

        policy.ValidateImages(Image("https://example.com/a.png"), "input", "sonnet");
        Assert.Equal("unsupported_input", Assert.Throws<OpenAiException>(() => policy.ValidateImages(Image("https://example.com/a.png"), "input", "gpt-5.5")).Code);
        Assert.Equal("invalid_image_url", Assert.Throws<OpenAiException>(() => policy.ValidateImages(Image("http://127.0.0.1/a.png"), "input", "sonnet")).Code);
        Assert.Equal("invalid_image_url", Assert.Throws<OpenAiException>(() => policy.ValidateImages(Image("file:///etc/passwd"), "input", "sonnet")).Code);
    }

    [Fact]
    public void OutputFormat_JsonObject_IsAFormatWithoutSchema()
    {
        using var json = JsonDocument.Parse("""{"type":"json_object"}""");

        var format = TurnPolicy.ParseOutputFormat(json.RootElement, "text.format", nestedSchema: false);

        Assert.Equal(OutputFormat.JsonObject, format);
        Assert.Null(format!.Schema);
    }

    [Theory]
    [InlineData("""{"type":"json_schema","schema":{"type":"object"}}""", "text.format.name")]
    [InlineData("""{"type":"json_schema","name":"bad name","schema":{"type":"object"}}""", "text.format.name")]
    [InlineData("""{"type":"json_schema","name":"a","schema":"{}"}""", "text.format.schema")]
    [InlineData("""{"type":"xml"}""", "text.format.type")]
    public void OutputFormat_Invalid_Is400NamingTheField(string formatJson, string param)
    {
        using var json = JsonDocument.Parse(formatJson);

        var error = Assert.Throws<OpenAiException>(() => TurnPolicy.ParseOutputFormat(json.RootElement, "text.format", nestedSchema: false));

        Assert.Equal(param, error.Param);
    }
}
