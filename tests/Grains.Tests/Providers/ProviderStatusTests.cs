using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

public sealed class ProviderStatusTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task CheckAsync_TestEnvironment_ReportsBothAvailableWithTheirVersions()
    {
        var codex = await fixture.Codex().CheckAsync(CancellationToken.None);
        var claude = await fixture.Claude().CheckAsync(CancellationToken.None);

        Assert.Equal(new ProviderStatus(CliProvider.Codex, true, null, "0.169.0", fixture.Environment.CodexPath), codex);
        Assert.Equal(new ProviderStatus(CliProvider.Claude, true, null, "2.1.197", fixture.Environment.ClaudePath), claude);
    }

    [Fact]
    public async Task CheckAsync_NonExistentPath_ReportsUnavailableWithInstallHint()
    {
        var codex = await fixture.Codex(o => o.CodexPath = "/nonexistent/codex").CheckAsync(CancellationToken.None);
        var claude = await fixture.Claude(o => o.ClaudePath = "/nonexistent/claude").CheckAsync(CancellationToken.None);

        Assert.False(codex.Available);
        Assert.Contains("cd tools && npm ci (or set Cli:CodexPath / CODEX_PATH)", codex.Message);
        Assert.False(claude.Available);
        Assert.Contains("cd tools && npm ci (or set Cli:ClaudePath / CLAUDE_PATH)", claude.Message);
    }

    [Fact]
    public async Task CheckAsync_CodexWithoutLoginOrCustomProvider_ReportsRunCodexLogin()
    {
        var emptyHome = fixture.Environment.CreateWorkingDirectory("empty-codex-home");
        var runner = fixture.Codex(o =>
        {
            o.ExtraEnvironment["CODEX_HOME"] = emptyHome;
            o.ExtraEnvironment["OPENAI_API_KEY"] = "";
            o.ExtraEnvironment["CODEX_API_KEY"] = "";
        });

        var status = await runner.CheckAsync(CancellationToken.None);

        Assert.False(status.Available);
        Assert.Equal("0.169.0", status.Version);
        Assert.Contains("codex login", status.Message);
    }

    [Fact]
    public async Task CheckAsync_ClaudeWithoutCredentials_ReportsRunClaude()
    {
        var runner = fixture.Claude(o =>
        {
            o.ExtraEnvironment["CLAUDE_CONFIG_DIR"] = fixture.Environment.CreateWorkingDirectory("empty-claude-config");
            o.ExtraEnvironment["ANTHROPIC_API_KEY"] = "";
            o.ExtraEnvironment["ANTHROPIC_AUTH_TOKEN"] = "";
        });

        var status = await runner.CheckAsync(CancellationToken.None);

        Assert.False(status.Available);
        Assert.Contains("run `claude`", status.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("ANTHROPIC_API_KEY", status.Message);
    }

    [Theory]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\n", "stub")]
    [InlineData("# comment\nmodel = \"gpt-5.5\"\nmodel_provider='azure' # trailing\n", "azure")]
    [InlineData("model_provider = \"openai\"\n", null)]
    [InlineData("model = \"x\"\n[profile]\nmodel_provider = \"inside-a-table\"\n", null)]
    [InlineData("model_providers_extra = 1\n", null)]
    [InlineData("model_provider = \"OpenAI\"\n", null)]
    [InlineData("model_provider = \"\"\n", null)]
    [InlineData("model_provider = \"\"\"local\"\"\"\nmodel_providers.local.base_url = \"http://127.0.0.1:1/v1\"\n", "local")]
    [InlineData("model_provider = \"my stub\"\nmodel_providers = { \"my stub\" = { base_url = \"http://127.0.0.1:1/v1\" } }\n", "my stub")]
    [InlineData("[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/v1\"\n", null)]
    [InlineData("model_provider = stub\n", null)]
    [InlineData("model_provider = 1\n", null)]
    public void CustomModelProvider_ConfigToml_FindsOnlyATopLevelNonOpenAiProvider(string toml, string? expected)
    {
        var path = Path.Combine(fixture.Environment.CreateWorkingDirectory("toml"), "config.toml");
        File.WriteAllText(path, toml);

        Assert.Equal(expected, CodexExecRunner.CustomModelProvider(path));
    }

    [Fact]
    public async Task ProviderStatusService_StartedByTheHost_DoesNotBlockStartUpAndCachesStatuses()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(fixture.Environment.ToConfiguration()).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddCliProviders(configuration);
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().OfType<ProviderStatusService>().Single();
        var service = provider.GetRequiredService<IProviderStatusService>();

        var stopwatch = Stopwatch.StartNew();
        await hosted.StartAsync(CancellationToken.None);
        var startUp = stopwatch.Elapsed;
        var statuses = await service.GetStatusesAsync().AsTask().WaitAsync(CliFixture.TestTimeout);
        stopwatch.Restart();
        var cached = await service.GetStatusAsync(CliProvider.Claude);
        var cachedLookup = stopwatch.Elapsed;
        await hosted.StopAsync(CancellationToken.None);

        Assert.True(startUp < TimeSpan.FromMilliseconds(200), $"start-up waited {startUp}");
        Assert.All(statuses, s => Assert.True(s.Available, s.Message));
        Assert.Equal([CliProvider.Codex, CliProvider.Claude], statuses.Select(s => s.Provider));
        Assert.Same(statuses[1], cached);
        Assert.True(cachedLookup < TimeSpan.FromMilliseconds(50), $"a cached status took {cachedLookup}");
        Assert.Equal(2, provider.GetServices<ICliRunner>().Count());
    }

    [Fact]
    public void AddCliProviders_InvalidSettings_FailValidationNamingEverySetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cli:TurnTimeout"] = "00:00:00",
            ["Cli:ClaudeMaxRetries"] = "11",
            ["Cli:CodexSandboxMode"] = "danger-full-access",
            ["Cli:CodexPath"] = " ",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddCliProviders(configuration);
        using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CliOptions>>().Value);

        Assert.Equal(4, exception.Failures.Count());
        Assert.Contains(exception.Failures, f => f.Contains("Cli:TurnTimeout"));
        Assert.Contains(exception.Failures, f => f.Contains("Cli:ClaudeMaxRetries"));
        Assert.Contains(exception.Failures, f => f.Contains("Cli:CodexAllowDangerFullAccess"));
        Assert.Contains(exception.Failures, f => f.Contains("Cli:CodexPath"));
    }

    [Fact]
    public void CliOptions_Defaults_AreValid()
    {
        var result = new CliOptionsValidator().Validate(null, new CliOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Equal(TimeSpan.FromMinutes(2), new CliOptions().TurnTimeout);
        Assert.Equal(2, new CliOptions().ClaudeMaxRetries);
    }
}
