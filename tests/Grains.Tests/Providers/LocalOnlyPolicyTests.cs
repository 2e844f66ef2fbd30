using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary><c>Cli:LocalOnly</c>: which model servers count as this machine, read from what each CLI reads.</summary>
public sealed class LocalOnlyPolicyTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("localonly-").FullName;

    [Theory]
    [InlineData("http://127.0.0.1:18080/v1")]
    [InlineData("http://127.8.9.10/v1")]
    [InlineData("https://localhost/v1")]
    [InlineData("http://LOCALHOST:11434")]
    [InlineData("http://[::1]:8080/v1")]
    [InlineData("http://[::ffff:127.0.0.1]:8080")]
    [InlineData("http://user@127.0.0.1:80/v1")]
    [InlineData("unix:///run/model.sock")]
    [InlineData("http+unix://%2Frun%2Fmodel.sock/v1")]
    public void IsLocal_LoopbackOrUnixSocket_True(string url) => Assert.True(LocalOnlyPolicy.IsLocal(url), url);

    [Theory]
    [InlineData("https://api.openai.com/v1")]
    [InlineData("http://10.0.0.5:8080/v1")]
    [InlineData("http://192.168.1.2/v1")]
    [InlineData("http://0.0.0.0:8080/v1")]
    [InlineData("http://[::]:8080/v1")]
    [InlineData("http://localhost.example.com/v1")]
    [InlineData("http://127.0.0.1.nip.io/v1")]
    [InlineData("http://evil.com@example.com/v1")]
    [InlineData("ftp://127.0.0.1/v1")]
    [InlineData("file:///etc/passwd")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("not a url")]
    [InlineData("")]
    public void IsLocal_AnythingElse_False(string url) => Assert.False(LocalOnlyPolicy.IsLocal(url), url);

    [Fact]
    public void Check_SettingOff_AllowsEvenARemoteProvider()
    {
        var options = Options(localOnly: false, ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"));

        Assert.Null(LocalOnlyPolicy.Check(CliProvider.Claude, options));
    }

    [Theory]
    [InlineData("model_provider = \"stub\"\n\n[model_providers.stub]\nbase_url = \"http://127.0.0.1:1234/v1\"  # the stub\nwire_api = \"responses\"\n", true)]
    [InlineData("model = \"gpt-5.5\"\nmodel_provider = 'local'\n[analytics]\nenabled = false\n[model_providers.\"local\"]\nbase_url = 'http://localhost:8080/v1'\n", true)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = \"https://models.example.com/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.other]\nbase_url = \"http://127.0.0.1:1/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nname = \"no url\"\n", false)]
    [InlineData("model_provider = stub\n[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/v1\"\n", false)]
    [InlineData("[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel_provider = \"stub\"\n", false)]
    [InlineData("model = \"gpt-5.5\"\n", false)]
    public void Check_CodexConfigToml_AllowsOnlyALocalBaseUrlOfTheSelectedProvider(string config, bool allowed)
    {
        File.WriteAllText(Path.Combine(_home, "config.toml"), config);

        var error = LocalOnlyPolicy.Check(CliProvider.Codex, Options(("CODEX_HOME", _home), ("OPENAI_BASE_URL", "")));

        Assert.Equal(allowed, error is null);
        if (error is not null)
        {
            Assert.Equal(TurnErrorCodes.ProviderNotLocal, error.Code);
            Assert.Equal(400, TurnErrorCodes.HttpStatus(error.Code));
            Assert.Contains("Cli:LocalOnly", error.Message);
            Assert.Contains("Codex", error.Message);
        }
    }

    [Fact]
    public void Check_CodexBuiltInOpenAi_UsesOpenAiBaseUrlElseTheRemoteDefault()
    {
        File.WriteAllText(Path.Combine(_home, "config.toml"), "model = \"gpt-5.5\"\n");

        var remote = LocalOnlyPolicy.Check(CliProvider.Codex, Options(("CODEX_HOME", _home), ("OPENAI_BASE_URL", "")));
        var local = LocalOnlyPolicy.Check(CliProvider.Codex, Options(("CODEX_HOME", _home), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")));

        Assert.Contains("https://api.openai.com/v1", remote!.Message);
        Assert.Null(local);
    }

    [Fact]
    public void Check_CodexHomeWithoutConfig_IsTheRemoteOpenAiDefault()
    {
        var error = LocalOnlyPolicy.Check(CliProvider.Codex, Options(("CODEX_HOME", Path.Combine(_home, "missing")), ("OPENAI_BASE_URL", "")));

        Assert.Contains("api.openai.com", error!.Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:4000", true)]
    [InlineData("https://api.anthropic.com", false)]
    [InlineData("", false)]
    public void Check_Claude_FollowsAnthropicBaseUrlUnsetIsRemote(string baseUrl, bool allowed)
    {
        var error = LocalOnlyPolicy.Check(CliProvider.Claude, Options(("ANTHROPIC_BASE_URL", baseUrl)));

        Assert.Equal(allowed, error is null);
        if (error is not null)
        {
            Assert.Contains("Claude Code", error.Message);
            Assert.Contains("ANTHROPIC_BASE_URL", error.Message);
        }
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static CliOptions Options(params (string Name, string Value)[] environment) => Options(localOnly: true, environment);

    private static CliOptions Options(bool localOnly, params (string Name, string Value)[] environment)
    {
        var options = new CliOptions { LocalOnly = localOnly };
        foreach (var (name, value) in environment)
        {
            options.ExtraEnvironment[name] = value;
        }

        return options;
    }
}
