using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Turns;

namespace OrleansCodex.Api.Tests.Turns;

public sealed class TurnValidationTests
{
    [Theory]
    [InlineData("; rm -rf /")]
    [InlineData("$(x)")]
    [InlineData("`id`")]
    [InlineData("gpt-5.5 --dangerously-bypass-approvals-and-sandbox")]
    [InlineData("-c")]
    [InlineData("--model")]
    [InlineData("gpt|sh")]
    [InlineData("a/b")]
    [InlineData("gpt\n5")]
    [InlineData(" gpt-5.5")]
    public void RequireModel_ShellOrFlagLikeName_Is400NamingModel(string model)
    {
        var error = Assert.Throws<OpenAiException>(() => TurnValidation.RequireModel(model));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("model", error.Param);
    }

    [Fact]
    public void RequireModel_129Characters_Is400()
    {
        Assert.Equal("model", Assert.Throws<OpenAiException>(() => TurnValidation.RequireModel(new string('a', 129))).Param);
    }

    [Fact]
    public void RequireModel_128Characters_IsAccepted()
    {
        var model = new string('a', 128);

        Assert.Equal(model, TurnValidation.RequireModel(model));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void RequireModel_Missing_Is400MissingParameter(string? model)
    {
        var error = Assert.Throws<OpenAiException>(() => TurnValidation.RequireModel(model));

        Assert.Equal("model", error.Param);
        Assert.Equal("missing_required_parameter", error.Code);
    }

    [Theory]
    [InlineData("gpt-5.5")]
    [InlineData("claude-opus-4-8")]
    [InlineData("opus")]
    [InlineData("gpt-6.1-sol")]
    [InlineData("qwen3:32b")]
    [InlineData("claude-sonnet-5[1m]")]
    public void RequireModel_CatalogStyleNames_AreAccepted(string model)
    {
        Assert.Equal(model, TurnValidation.RequireModel(model));
    }

    [Theory]
    [InlineData("high; rm -rf /")]
    [InlineData("extreme")]
    public void ValidateEffort_UnknownValue_Is400NamingParam(string effort)
    {
        var error = Assert.Throws<OpenAiException>(() => TurnValidation.ValidateEffort(effort, "reasoning.effort"));

        Assert.Equal("reasoning.effort", error.Param);
    }

    [Fact]
    public void ValidateMetadata_SeventeenPairs_Is400()
    {
        var metadata = Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v");

        Assert.Equal("metadata", Assert.Throws<OpenAiException>(() => TurnValidation.ValidateMetadata(metadata)).Param);
    }

    [Fact]
    public void ValidateMetadata_SixteenPairs_IsAccepted()
    {
        var metadata = Enumerable.Range(0, 16).ToDictionary(i => $"k{i}", i => "v");

        Assert.Same(metadata, TurnValidation.ValidateMetadata(metadata));
    }
}
