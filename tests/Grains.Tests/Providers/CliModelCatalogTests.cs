using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

public sealed class CliModelCatalogTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public void ParseCodex_KeepsListedSlugsAfterLeadingWarnings()
    {
        var models = CliModelCatalog.ParseCodex("""
            WARNING: proceeding, even though we could not create PATH aliases
            {"models":[{"slug":"gpt-a","visibility":"list"},{"slug":"hidden-b","visibility":"hide"},{"slug":"bad name","visibility":"list"},{"slug":"gpt-a","visibility":"list"}]}
            """);

        Assert.Equal(["gpt-a"], models);
    }

    [Fact]
    public void ParseClaude_TakesAliasesAndResolvedModelsButNotDefault()
    {
        const string Initialize = """{"type":"control_response","response":{"subtype":"success","request_id":"models","response":{"models":[""" +
            """{"value":"default","resolvedModel":"claude-opus-4-8[1m]"},{"value":"opus[1m]","resolvedModel":"claude-opus-4-8[1m]"},""" +
            """{"value":"haiku","resolvedModel":"claude-haiku-4-5"}]}}}""";

        var models = CliModelCatalog.ParseClaude("{\"type\":\"system\",\"subtype\":\"init\"}\n" + Initialize + "\n");

        Assert.Equal(["claude-opus-4-8[1m]", "claude-opus-4-8", "opus[1m]", "opus", "haiku", "claude-haiku-4-5"], models);
    }

    private CliModelCatalog Catalog(Action<CliOptions>? configure = null)
    {
        var monitor = new FixedOptionsMonitor<CliOptions>(fixture.Options(configure));
        return new CliModelCatalog(fixture.Codex(configure), fixture.Claude(configure), monitor, TimeProvider.System, NullLogger<CliModelCatalog>.Instance);
    }

    [Theory]
    [InlineData(CliProvider.Codex, "gpt-5.5")]
    [InlineData(CliProvider.Claude, "sonnet")]
    public async Task GetModels_AsksTheInstalledCli(CliProvider provider, string expected)
    {
        var models = await Catalog().GetModelsAsync(provider, CancellationToken.None);

        Assert.Null(models.Problem);
        Assert.Contains(expected, models.Models!);
        Assert.All(models.Models!, model => Assert.Equal(provider, ModelRouting.ProviderFor(model)));
    }

    [Fact]
    public async Task GetModels_MissingCli_SaysWhy()
    {
        var models = await Catalog(o => o.CodexPath = "/nonexistent/codex").GetModelsAsync(CliProvider.Codex, CancellationToken.None);

        Assert.Null(models.Models);
        Assert.Contains("/nonexistent/codex", models.Problem);
    }
}
