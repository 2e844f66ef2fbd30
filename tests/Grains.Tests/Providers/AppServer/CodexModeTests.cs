using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Providers.ClaudeStream;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary><c>Cli:CodexMode</c> picks the Codex runner; Claude's is the same either way (stream mode by default).</summary>
public sealed class CodexModeTests
{
    [Theory]
    [InlineData(null, typeof(CodexAppServerRunner))]
    [InlineData("AppServer", typeof(CodexAppServerRunner))]
    [InlineData("appserver", typeof(CodexAppServerRunner))]
    [InlineData("Exec", typeof(CodexExecRunner))]
    public async Task AddCliProviders_CodexMode_RegistersOneRunnerPerProviderWithCodexsAsConfigured(string? mode, Type expected)
    {
        await using var services = Services(mode);

        var runners = services.GetServices<ICliRunner>().ToList();

        Assert.Equal(2, runners.Count);
        Assert.IsType(expected, Assert.Single(runners, r => r.Provider == CliProvider.Codex));
        Assert.IsType<ClaudeStreamRunner>(Assert.Single(runners, r => r.Provider == CliProvider.Claude));
    }

    [Fact]
    public void Validate_UndefinedCodexMode_NamesTheSettingAndTheAllowedValues()
    {
        var result = new CliOptionsValidator().Validate(null, new CliOptions { CodexMode = (CodexMode)7 });

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Cli:CodexMode", failure);
        Assert.Contains("AppServer or Exec", failure);
    }

    [Fact]
    public void CliOptions_Default_IsAppServer() => Assert.Equal(CodexMode.AppServer, new CliOptions().CodexMode);

    private static ServiceProvider Services(string? mode)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(mode is null ? [] : [new KeyValuePair<string, string?>("Cli:CodexMode", mode)])
            .Build();
        return new ServiceCollection().AddLogging().AddCliProviders(configuration).BuildServiceProvider(validateScopes: true);
    }
}
