using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.ClaudeStream;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary><c>Cli:ClaudeMode</c> picks the Claude runner.</summary>
public sealed class ClaudeModeTests
{
    [Theory]
    [InlineData(null, typeof(ClaudeStreamRunner))]
    [InlineData("Stream", typeof(ClaudeStreamRunner))]
    [InlineData("print", typeof(ClaudePrintRunner))]
    public async Task AddCliProviders_ClaudeMode_RegistersClaudesRunnerAsConfigured(string? mode, Type expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(mode is null ? [] : [new KeyValuePair<string, string?>("Cli:ClaudeMode", mode)])
            .Build();
        await using var services = new ServiceCollection().AddLogging().AddCliProviders(configuration).BuildServiceProvider(validateScopes: true);

        var runners = services.GetServices<ICliRunner>().ToList();

        Assert.IsType(expected, Assert.Single(runners, r => r.Provider == CliProvider.Claude));
    }
}
