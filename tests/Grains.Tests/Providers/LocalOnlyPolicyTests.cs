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
    // Any way TOML writes the same keys: dotted keys, inline tables, quoted names, multi-line and escaped strings.
    [InlineData("model_provider = \"stub\"\nmodel_providers.stub.base_url = \"http://127.0.0.1:1234/v1\"\n", true)]
    [InlineData("model_provider = \"stub\"\nmodel_providers.stub.base_url = \"https://models.example.com/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers]\nstub.base_url = \"http://127.0.0.1:1234/v1\"\n", true)]
    [InlineData("model_provider = \"stub\"\nmodel_providers = { stub = { base_url = \"http://localhost:8080/v1\", wire_api = \"responses\" } }\n", true)]
    [InlineData("model_provider = \"stub\"\n[model_providers]\nstub = { base_url = 'http://[::1]:9/v1' }\nother = { base_url = \"https://models.example.com/v1\" }\n", true)]
    [InlineData("model_provider = \"stub\"\n[model_providers]\nstub = { base_url = \"https://models.example.com/v1\" }\nother = { base_url = 'http://127.0.0.1:1/v1' }\n", false)]
    [InlineData("model_provider = \"my stub\"\n[model_providers.\"my stub\"]\nbase_url = \"http://127.0.0.1:1/v1\"\n", true)]
    [InlineData("model_provider = \"my stub\"\n[model_providers.'my stub']\nbase_url = \"https://models.example.com/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = \"\"\"\nhttp://127.0.0.1:1/v1\"\"\"\n", true)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = '''\nhttp://127.0.0.1:1/v1'''\n", true)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/\\u0076\\u0031\"\n", true)]
    // The built-in openai provider, redefined in config.toml (here by a dotted key), uses its base_url, not OPENAI_BASE_URL.
    [InlineData("model_providers.openai.base_url = \"http://127.0.0.1:1/v1\"\n", true)]
    [InlineData("model_provider = \"openai\"\n[model_providers.openai]\nname = \"no url\"\n", false)]
    // Wrong types and invalid TOML are refused.
    [InlineData("model_provider = 1\n[model_providers.1]\nbase_url = \"http://127.0.0.1:1/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = 8080\n", false)]
    [InlineData("model_provider = \"stub\"\nmodel_providers = \"stub\"\n", false)]
    [InlineData("model_provider = \"stub\"\nmodel_providers.stub = \"http://127.0.0.1:1/v1\"\n", false)]
    [InlineData("model_provider = \"remote\"\nmodel_provider = \"stub\"\n[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/v1\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = \"http://127.0.0.1:1/v1\"\n[model_providers.stub]\nname = \"again\"\n", false)]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub\nbase_url = \"http://127.0.0.1:1/v1\"\n", false)]
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

    [Theory]
    [InlineData("model_provider = stub\n", "is not valid TOML: ", "(line 1, column 18)")]
    [InlineData("model_provider = \"a\"\nmodel_provider = \"b\"\n", "is not valid TOML: ", "model_provider")]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub\nbase_url = \"http://127.0.0.1:1/v1\"\n", "is not valid TOML: ", "(line 2,")]
    [InlineData("model_provider = true\n", "the model_provider of ", "is not a string")]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nbase_url = [\"http://127.0.0.1:1/v1\"]\n", "the base_url of model provider 'stub' in ", "is not a string")]
    [InlineData("model_provider = \"stub\"\n[model_providers.stub]\nname = \"no url\"\n", "model provider 'stub' has no base_url in ", "config.toml")]
    public void ModelServer_CodexConfigTomlThatCannotBeUsed_SaysWhy(string config, string reason, string detail)
    {
        var path = Path.Combine(_home, "config.toml");
        File.WriteAllText(path, config);
        var options = Options(("CODEX_HOME", _home), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"));

        var (url, source) = LocalOnlyPolicy.ModelServer(CliProvider.Codex, options);
        var error = LocalOnlyPolicy.Check(CliProvider.Codex, options);

        Assert.Null(url);
        Assert.Contains(reason, source);
        Assert.Contains(detail, source);
        Assert.Contains(path, source);
        Assert.Equal(TurnErrorCodes.ProviderNotLocal, error!.Code);
        Assert.Contains($"cannot be told ({source})", error.Message);
    }

    [Fact]
    public void ModelServer_MalformedCodexConfigToml_NamesTheFileAndTheFirstError()
    {
        var path = Path.Combine(_home, "config.toml");
        File.WriteAllText(path, "model_provider = \"stub\"\nbase_url = 'http://127.0.0.1:1/v1\n");

        var (url, source) = LocalOnlyPolicy.ModelServer(CliProvider.Codex, Options(("CODEX_HOME", _home)));

        Assert.Null(url);
        Assert.Equal($"{path} is not valid TOML: Invalid newline in a string (line 2, column 34)", source);
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
