using Microsoft.Extensions.Configuration;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Tests.TestDoubles;

namespace OrleansCodex.Api.Tests.Options;

public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://192.168.1.20:8080", false)]
    [InlineData("http://myhost:8080", false)]
    public void IsLoopback_Url_ClassifiesHost(string url, bool loopback)
    {
        Assert.Equal(loopback, ListenAddresses.IsLoopback(url));
    }

    [Theory]
    [InlineData("urls", "http://127.0.0.1:1;http://0.0.0.0:2")]
    [InlineData("http_ports", "8080")]
    [InlineData("Kestrel:Endpoints:Public:Url", "http://0.0.0.0:9000")]
    public void Validate_NoKeyAndRemoteAddress_FailsNamingTheSettings(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        var result = new AuthOptionsValidator(configuration).Validate(null, new AuthOptions());

        Assert.True(result.Failed);
        Assert.Contains("Auth:ApiKey", result.FailureMessage);
        Assert.Contains("Auth:AllowUnauthenticatedRemote", result.FailureMessage);
    }

    [Fact]
    public void Validate_KeyOrOptIn_AllowsRemoteAddress()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "http://0.0.0.0:8080" }).Build();
        var validator = new AuthOptionsValidator(configuration);

        Assert.True(validator.Validate(null, new AuthOptions { ApiKey = "k" }).Succeeded);
        Assert.True(validator.Validate(null, new AuthOptions { AllowUnauthenticatedRemote = true }).Succeeded);
    }

    [Fact]
    public void Start_NoKeyOnAllInterfaces_RefusesToStart()
    {
        using var factory = new ApiFactory();
        factory.Settings.Remove("Auth:ApiKey");
        factory.Settings["urls"] = "http://0.0.0.0:8080";

        var exception = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("without an API key", exception.ToString());
    }

    [Fact]
    public void Start_BadApiOptions_RefusesToStartNamingEverySetting()
    {
        using var factory = new ApiFactory();
        factory.Settings["Api:MaxRequestBodyBytes"] = "10";
        factory.Settings["Api:RetryAfterSeconds"] = "0";

        var exception = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Api:MaxRequestBodyBytes", exception.ToString());
        Assert.Contains("Api:RetryAfterSeconds", exception.ToString());
    }

    [Fact]
    public void Start_MissingWorkDirectory_RefusesToStartNamingIt()
    {
        using var factory = new ApiFactory();
        var missing = Path.Combine(Path.GetTempPath(), "orleanscodex-missing-" + Guid.NewGuid().ToString("N"), "work");
        factory.Settings["Conversations:WorkDirectory"] = missing;

        var exception = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("CODEX_WORKDIR", exception.ToString());
        Assert.Contains("does not exist", exception.ToString());
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void Start_ReadOnlyWorkDirectory_RefusesToStart()
    {
        using var factory = new ApiFactory();
        // A directory nobody can create files in, not even root (the tests may run as root, which ignores permission bits).
        factory.Settings["Conversations:WorkDirectory"] = "/proc";

        var exception = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("is not a writable directory", exception.ToString());
    }

    [Fact]
    public void Start_BadCliSettings_RefusesToStartNamingEverySetting()
    {
        using var factory = new ApiFactory();
        factory.Settings["Cli:CodexReasoningEffort"] = "maximal";
        factory.Settings["Cli:ClaudePermissionMode"] = "bypassPermissions";
        factory.Settings["Cli:IdleTimeout"] = "-00:00:01";
        factory.Settings["Workers:MaxQueuedTurns"] = "-1";
        factory.Settings["Workers:ClaudeSpares"] = "17";

        var exception = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();

        Assert.Contains("Cli:CodexReasoningEffort", exception);
        Assert.Contains("Cli:ClaudeAllowBypassPermissions", exception);
        Assert.Contains("Cli:IdleTimeout", exception);
        Assert.Contains("Workers:MaxQueuedTurns", exception);
        Assert.Contains("Workers:ClaudeSpares must be between 0 and 16", exception);
    }

    [Fact]
    public void Validate_BadCatalogName_NamesTheEntry()
    {
        var result = new ModelsOptionsValidator().Validate(null, new ModelsOptions { Extra = ["ok", "bad name"] });

        Assert.True(result.Failed);
        Assert.Contains("Models:Extra:1", result.FailureMessage);
    }
}
