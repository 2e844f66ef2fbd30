using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Api.Tests.Configuration;

/// <summary>
/// The seed project's flat environment names as aliases of our settings: above appsettings, below <c>Section__Key</c> variables and
/// the command line. The process environment is never touched (tests run in parallel): the aliases read a dictionary, and a
/// stand-in environment source supplies <c>Section__Key</c> variables.
/// </summary>
public sealed class LegacyEnvironmentAliasesTests
{
    /// <summary>What appsettings.json would give: every aliased setting has a value an alias must override.</summary>
    private static readonly Dictionary<string, string?> AppSettings = new()
    {
        ["Cli:CodexPath"] = "/from/appsettings/codex",
        ["Cli:ClaudePath"] = "/from/appsettings/claude",
        ["Cli:TurnTimeout"] = "00:05:00",
        ["Cli:CodexSandboxMode"] = "read-only",
        ["Cli:CodexAllowDangerFullAccess"] = "false",
        ["Conversations:WorkDirectory"] = "/from/appsettings/work",
        ["Auth:ApiKey"] = "",
    };

    [Theory]
    [InlineData("CODEX_PATH", "/opt/codex/bin/codex", "Cli:CodexPath", "/opt/codex/bin/codex")]
    [InlineData("CLAUDE_PATH", "/opt/claude/claude", "Cli:ClaudePath", "/opt/claude/claude")]
    [InlineData("CODEX_WORKDIR", "/srv/conversations", "Conversations:WorkDirectory", "/srv/conversations")]
    [InlineData("CODEX_TIMEOUT", "90", "Cli:TurnTimeout", "00:01:30")]
    [InlineData("CODEX_TIMEOUT", "00:02:00", "Cli:TurnTimeout", "00:02:00")]
    [InlineData("CODEX_SANDBOX_MODE", "workspace-write", "Cli:CodexSandboxMode", "workspace-write")]
    [InlineData("CODEX_ALLOW_DANGER_FULL_ACCESS", "true", "Cli:CodexAllowDangerFullAccess", "true")]
    [InlineData("PROXY_API_KEY", "sk-seed-key", "Auth:ApiKey", "sk-seed-key")]
    public void AddLegacyEnvironmentAliases_SeedVariableSet_OverridesAppSettingsWithItsSetting(string alias, string value, string key, string expected)
    {
        // Arrange
        var builder = new ConfigurationBuilder().AddInMemoryCollection(AppSettings).Add(new StandInEnvironmentSource());

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string> { [alias] = value }).Build();

        // Assert
        Assert.Equal(expected, configuration[key]);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_CodexTimeoutInSeconds_BindsAsTheTurnTimeout()
    {
        // Arrange
        var builder = new ConfigurationBuilder().AddInMemoryCollection(AppSettings).Add(new StandInEnvironmentSource());

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string> { ["CODEX_TIMEOUT"] = "90" }).Build();

        // Assert
        var options = configuration.GetSection(CliOptions.SectionName).Get<CliOptions>();
        Assert.Equal(TimeSpan.FromSeconds(90), options?.TurnTimeout);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_SectionKeyVariableForTheSameSetting_VariableWins()
    {
        // Arrange
        var builder = new ConfigurationBuilder()
            .AddInMemoryCollection(AppSettings)
            .Add(new StandInEnvironmentSource(("Cli__CodexPath", "/from/section-key/codex"), ("Cli__TurnTimeout", "00:00:45")));

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string>
        {
            ["CODEX_PATH"] = "/from/alias/codex",
            ["CODEX_TIMEOUT"] = "90",
            ["CLAUDE_PATH"] = "/from/alias/claude",
        }).Build();

        // Assert
        Assert.Equal("/from/section-key/codex", configuration["Cli:CodexPath"]);
        Assert.Equal("00:00:45", configuration["Cli:TurnTimeout"]);
        Assert.Equal("/from/alias/claude", configuration["Cli:ClaudePath"]);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_SourcesAfterTheEnvironment_BeatTheAlias()
    {
        // Arrange: appsettings, environment, then the command line (as the default host orders them).
        var builder = new ConfigurationBuilder()
            .AddInMemoryCollection(AppSettings)
            .Add(new StandInEnvironmentSource())
            .AddCommandLine(["--Auth:ApiKey=sk-from-command-line"]);

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string>
        {
            ["PROXY_API_KEY"] = "sk-from-alias",
            ["CODEX_WORKDIR"] = "/from/alias/work",
        }).Build();

        // Assert
        Assert.Equal("sk-from-command-line", configuration["Auth:ApiKey"]);
        Assert.Equal("/from/alias/work", configuration["Conversations:WorkDirectory"]);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_SeveralEnvironmentSources_InsertsTheAliasesJustBeforeTheFirstUnprefixedOne()
    {
        // Arrange: a host-level prefixed source (before appsettings, as the default builders add DOTNET_/ASPNETCORE_), then two plain ones.
        var hostVariables = new StandInEnvironmentSource(("Cli__CodexPath", "/from/dotnet-prefixed/codex")) { Prefix = "DOTNET_" };
        var first = new StandInEnvironmentSource();
        var second = new StandInEnvironmentSource();
        var builder = new ConfigurationBuilder().Add(hostVariables).AddInMemoryCollection(AppSettings).Add(first).AddInMemoryCollection([]).Add(second);

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string> { ["CODEX_PATH"] = "/from/alias/codex" }).Build();

        // Assert
        var sources = builder.Sources.ToList();
        Assert.Equal(6, sources.Count);
        Assert.Same(hostVariables, sources[0]);
        var aliases = Assert.IsType<MemoryConfigurationSource>(sources[2]);
        Assert.Contains(aliases.InitialData!, pair => pair.Key == "Cli:CodexPath" && pair.Value == "/from/alias/codex");
        Assert.Same(first, sources[3]);
        Assert.Same(second, sources[5]);
        Assert.Equal("/from/alias/codex", configuration["Cli:CodexPath"]);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_OnTheServicesOwnBuilder_BeatAppSettingsJson()
    {
        // Arrange: the builder Program.cs uses, with an appsettings.json that sets the aliased settings (the shipped one sets Auth:ApiKey to "").
        var contentRoot = Directory.CreateTempSubdirectory("legacy-aliases-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(contentRoot, "appsettings.json"), """
                { "Auth": { "ApiKey": "" }, "Cli": { "CodexPath": "/from/appsettings/codex", "TurnTimeout": "00:05:00" } }
                """);
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = contentRoot, EnvironmentName = "AliasTests" });

            // Act
            builder.Configuration.AddLegacyEnvironmentAliases(new Dictionary<string, string>
            {
                ["PROXY_API_KEY"] = "sk-from-alias",
                ["CODEX_PATH"] = "/from/alias/codex",
                ["CODEX_TIMEOUT"] = "90",
            });

            // Assert
            Assert.Equal("sk-from-alias", builder.Configuration["Auth:ApiKey"]);
            Assert.Equal("/from/alias/codex", builder.Configuration["Cli:CodexPath"]);
            Assert.Equal("00:01:30", builder.Configuration["Cli:TurnTimeout"]);
        }
        finally
        {
            Directory.Delete(contentRoot, recursive: true);
        }
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_NoEnvironmentSource_AddsTheAliasesLast()
    {
        // Arrange
        var builder = new ConfigurationBuilder().AddInMemoryCollection(AppSettings).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cli:CodexPath"] = "/from/later-file/codex",
        });

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string> { ["CODEX_PATH"] = "/from/alias/codex" }).Build();

        // Assert
        Assert.Equal(3, builder.Sources.Count);
        Assert.Equal("/from/alias/codex", configuration["Cli:CodexPath"]);
    }

    [Fact]
    public void AddLegacyEnvironmentAliases_NoneOrEmptySeedVariables_AddsNoSourceAndKeepsAppSettings()
    {
        // Arrange
        var builder = new ConfigurationBuilder().AddInMemoryCollection(AppSettings).Add(new StandInEnvironmentSource());

        // Act
        var configuration = builder.AddLegacyEnvironmentAliases(new Dictionary<string, string>
        {
            ["CODEX_PATH"] = "",
            ["CODEX_TIMEOUT"] = "",
            ["UNRELATED"] = "value",
        }).Build();

        // Assert
        Assert.Equal(2, builder.Sources.Count);
        Assert.Equal("/from/appsettings/codex", configuration["Cli:CodexPath"]);
        Assert.Equal("00:05:00", configuration["Cli:TurnTimeout"]);
    }

    /// <summary>
    /// Stands in for <c>AddEnvironmentVariables()</c> without reading the process environment: it is an
    /// <see cref="EnvironmentVariablesConfigurationSource"/> (what the aliases look for) whose provider serves the given
    /// <c>Section__Key</c> variables, mapped to keys as the real provider maps them.
    /// </summary>
    private sealed class StandInEnvironmentSource(params (string Name, string Value)[] variables) : EnvironmentVariablesConfigurationSource, IConfigurationSource
    {
        IConfigurationProvider IConfigurationSource.Build(IConfigurationBuilder builder) =>
            new MemoryConfigurationProvider(new MemoryConfigurationSource
            {
                InitialData = variables.Select(v => new KeyValuePair<string, string?>(v.Name.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), v.Value)),
            });
    }
}
