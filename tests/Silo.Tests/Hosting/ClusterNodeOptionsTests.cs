using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>The <c>Cluster</c> settings: checked at start with every problem named at once, port defaults, retired settings.</summary>
public sealed class ClusterNodeOptionsTests
{
    private static readonly TimeSpan _minusOneSecond = TimeSpan.FromSeconds(-1);

    [Fact]
    public void Validate_EveryBadSetting_ReportedAtOnceByName()
    {
        var options = new ClusterNodeOptions
        {
            Mode = "Zookeeper",
            NodeId = " ",
            ClusterId = "",
            SiloPort = 0,
            GatewayPort = 70000,
            AdvertisedAddress = "no-such-host.invalid",
            CallTimeout = TimeSpan.Zero,
            IdleDeactivationAge = _minusOneSecond,
            CollectionScanPeriod = TimeSpan.Zero,
            ShutdownTimeout = _minusOneSecond,
            MembershipPollPeriod = TimeSpan.Zero,
            Tls = new ClusterTlsOptions { CertificatePath = "/nonexistent/node.pfx", CaCertificatePath = "/nonexistent/ca.pem" },
        };

        var result = new ClusterNodeOptionsValidator(hostsGrains: true).Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        string[] named =
        [
            "Cluster:Mode", "Cluster:NodeId", "Cluster:ClusterId", "Cluster:SiloPort", "Cluster:GatewayPort", "Cluster:AdvertisedAddress",
            "Cluster:CallTimeout", "Cluster:IdleDeactivationAge", "Cluster:CollectionScanPeriod", "Cluster:ShutdownTimeout",
            "Cluster:MembershipPollPeriod", "Cluster:Tls:CertificatePath", "Cluster:Tls:CaCertificatePath",
        ];
        Assert.All(named, setting => Assert.Contains(failures, f => f.StartsWith(setting, StringComparison.Ordinal)));
        Assert.Equal(named.Length, failures.Count);
        Assert.Contains("Cluster:Mode must be Local or Postgres, not 'Zookeeper'.", failures);
        Assert.Contains(failures, f => f.Contains("'no-such-host.invalid'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_SamePortForSiloAndGateway_NamesBoth()
    {
        var result = Validate(new ClusterNodeOptions { Mode = "Postgres", SiloPort = 5000, GatewayPort = 5000 });

        Assert.Equal(["Cluster:SiloPort and Cluster:GatewayPort must differ (both are 5000)."], result.Failures);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public void Validate_AdvertisedAddressNobodyCanReach_Refused(string address)
    {
        var result = Validate(new ClusterNodeOptions { Mode = "Postgres", SiloPort = 11111, GatewayPort = 30000, AdvertisedAddress = address });

        Assert.Equal([$"Cluster:AdvertisedAddress must be an address other nodes can reach, not '{address}'."], result.Failures);
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("localhost")]
    public void Validate_ReachableAdvertisedAddress_Accepted(string address)
    {
        var options = new ClusterNodeOptions { Mode = "Postgres", AdvertisedAddress = address };
        options.ApplyDefaults();

        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public void Validate_PureClientInLocalMode_SaysItNeedsPostgres()
    {
        var options = new ClusterNodeOptions { Mode = "Local" };
        options.ApplyDefaults();

        var result = new ClusterNodeOptionsValidator(hostsGrains: false).Validate(null, options);

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("A pure cluster client (Api:CoHostSilo=false) needs Cluster:Mode = Postgres", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        var options = new ClusterNodeOptions();
        options.ApplyDefaults();

        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public void ApplyDefaults_SingleNode_FreeLoopbackPortAndNoGateway()
    {
        var options = new ClusterNodeOptions { Mode = "Local" };

        options.ApplyDefaults();

        Assert.Equal(0, options.GatewayPort);
        Assert.InRange(options.SiloPort!.Value, 1, 65535);
        Assert.NotEqual(11111, options.SiloPort);
        // Free a moment ago: a second single node on this machine does not clash with the first.
        using var listener = new TcpListener(IPAddress.Loopback, options.SiloPort.Value);
        listener.Start();
    }

    [Fact]
    public void ApplyDefaults_SingleNode_NodeIdIsTheMachineNameSoARestartResumesSessions()
    {
        var options = new ClusterNodeOptions { Mode = "Local" };

        options.ApplyDefaults();

        Assert.Equal(Environment.MachineName, options.NodeId);
    }

    [Fact]
    public void ApplyDefaults_Cluster_NodeIdNamesTheProcessSoSilosOnOneHostDiffer()
    {
        var options = new ClusterNodeOptions { Mode = "Postgres" };

        options.ApplyDefaults();

        Assert.Equal($"{Environment.MachineName}-{Environment.ProcessId}", options.NodeId);
    }

    [Fact]
    public void ApplyDefaults_NodeIdSet_KeepsIt()
    {
        var options = new ClusterNodeOptions { Mode = "Postgres", NodeId = "node-7" };

        options.ApplyDefaults();

        Assert.Equal("node-7", options.NodeId);
    }

    [Fact]
    public void ApplyDefaults_Cluster_OrleansWellKnownPorts()
    {
        var options = new ClusterNodeOptions { Mode = "postgres" };

        options.ApplyDefaults();

        Assert.Equal((11111, 30000), (options.SiloPort, options.GatewayPort));
    }

    [Fact]
    public void ApplyDefaults_PortsSet_KeepsThem()
    {
        var options = new ClusterNodeOptions { Mode = "Postgres", SiloPort = 12000, GatewayPort = 0 };

        options.ApplyDefaults();

        Assert.Equal((12000, 0), (options.SiloPort, options.GatewayPort));
    }

    [Fact]
    public void Bind_RetiredSettingsPresent_StillValid()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:Mode"] = "Postgres",
            ["Cluster:Secret"] = "0123456789abcdef0123",
            ["Cluster:HeartbeatPeriod"] = "00:00:01",
            ["Cluster:AdvertisedUrl"] = "ftp://not-a-url",
        }).Build();
        var options = configuration.GetSection(ClusterNodeOptions.SectionName).Get<ClusterNodeOptions>()!;
        options.ApplyDefaults();

        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public async Task RetiredSettingsWarning_RetiredSettingsPresent_LogsEachAsIgnoredWithoutItsValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:Secret"] = "0123456789abcdef0123",
            ["Cluster:DeathTimeout"] = "00:00:05",
            ["Cluster:Mode"] = "Local",
        }).Build();
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));

        await new RetiredSettingsWarning(configuration, factory.CreateLogger<RetiredSettingsWarning>()).StartAsync(CancellationToken.None);

        var warnings = logs.Entries.Where(e => e.Id.Id == 4001).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(LogLevel.Warning, w.Level));
        Assert.Contains(warnings, w => w.Message.StartsWith("Cluster:Secret is ignored", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.StartsWith("Cluster:DeathTimeout is ignored", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Message.Contains("0123456789abcdef0123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RetiredSettingsWarning_NoneSet_LogsNothing()
    {
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));

        await new RetiredSettingsWarning(new ConfigurationBuilder().Build(), factory.CreateLogger<RetiredSettingsWarning>()).StartAsync(CancellationToken.None);

        Assert.Empty(logs.Entries);
    }

    private static ValidateOptionsResult Validate(ClusterNodeOptions options) => new ClusterNodeOptionsValidator(hostsGrains: true).Validate(null, options);
}
