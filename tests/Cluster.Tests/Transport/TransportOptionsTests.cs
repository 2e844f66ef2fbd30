using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Cluster.Transport;
using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Transport;

public sealed class TransportOptionsTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        settings["Storage:DataDirectory"] = Path.Combine(Path.GetTempPath(), $"transport-options-{Guid.NewGuid():N}");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddClusterRuntime(builder.Configuration);
        builder.Services.AddClusterTransport(builder.Configuration);
        return builder.Build();
    }

    [Fact]
    public async Task TransportOptions_NoSecretAndBadTimeouts_StartFailsNamingEverySetting()
    {
        using var host = Build(new() { ["Cluster:CallTimeout"] = "00:00:00", ["Cluster:ConnectTimeout"] = "-00:00:01" });

        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains("Cluster:Secret is required when nodes call each other; set the same random value on every node.", error.Failures);
        Assert.Contains("Cluster:CallTimeout must be a positive time span (e.g. 00:00:30), not '00:00:00'.", error.Failures);
        Assert.Contains("Cluster:ConnectTimeout must be a positive time span (e.g. 00:00:30), not '-00:00:01'.", error.Failures);
    }

    [Fact]
    public async Task TransportOptions_ShortSecret_StartFailsNamingSecret()
    {
        using var host = Build(new() { ["Cluster:Secret"] = "short" });

        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Contains("Cluster:Secret must be at least 16 characters long.", error.Failures);
    }

    [Fact]
    public void TransportOptions_OnlySecretConfigured_UseDocumentedDefaults()
    {
        using var host = Build(new() { ["Cluster:Secret"] = "0123456789abcdef" });

        var options = host.Services.GetRequiredService<IOptions<ClusterTransportOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(30), options.CallTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), options.StreamKeepAliveInterval);
    }

    [Theory]
    [InlineData("00:00:00", "Cluster:StreamKeepAliveInterval must be a positive time span (e.g. 00:00:30), not '00:00:00'.")]
    [InlineData("-00:00:05", "Cluster:StreamKeepAliveInterval must be a positive time span (e.g. 00:00:30), not '-00:00:05'.")]
    [InlineData("00:00:30", "Cluster:StreamKeepAliveInterval ('00:00:30') must be shorter than Cluster:CallTimeout ('00:00:30'), or a quiet stream would time out between keep-alives.")]
    [InlineData("00:01:00", "Cluster:StreamKeepAliveInterval ('00:01:00') must be shorter than Cluster:CallTimeout ('00:00:30'), or a quiet stream would time out between keep-alives.")]
    public async Task TransportOptions_KeepAliveNotPositiveOrNotShorterThanCallTimeout_StartFailsNamingIt(string interval, string expected)
    {
        using var host = Build(new() { ["Cluster:Secret"] = "0123456789abcdef", ["Cluster:StreamKeepAliveInterval"] = interval });

        var error = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => host.StartAsync(new CancellationTokenSource(TestTimeouts.Wait).Token));

        Assert.Equal([expected], error.Failures);
    }

    [Fact]
    public void TransportOptions_KeepAliveShorterThanCallTimeout_Valid()
    {
        var options = new ClusterTransportOptions { Secret = "0123456789abcdef", CallTimeout = TimeSpan.FromSeconds(1.5), StreamKeepAliveInterval = TimeSpan.FromMilliseconds(300) };

        Assert.True(new ClusterTransportOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void ClusterRuntime_WithoutTransport_DoesNotRequireSecret()
    {
        // Single-node mode never registers the transport, so a missing secret must not stop it.
        using var host = TestCluster.Build(new Dictionary<string, string?>(), new ManualTimeProvider());

        var validators = host.Services.GetServices<IValidateOptions<ClusterTransportOptions>>();

        Assert.Empty(validators);
    }
}
