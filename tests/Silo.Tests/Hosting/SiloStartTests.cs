using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>What an operator sees when a node starts: bad settings stop it naming each one, retired settings only warn.</summary>
public sealed class SiloStartTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"silo-start-tests-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Start_SeveralBadClusterSettings_FailsNamingEachOne()
    {
        await using var host = CodexHost.CreateSilo(new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = _directory,
            ["Cluster:Mode"] = "Zookeeper",
            ["Cluster:SiloPort"] = "70000",
            ["Cluster:CallTimeout"] = "00:00:00",
            ["Cluster:Tls:CertificatePath"] = Path.Combine(_directory, "missing.pfx"),
        });

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestTimeouts.Wait));

        var failures = Flatten(error);
        Assert.Contains("Cluster:Mode must be Local or Postgres, not 'Zookeeper'.", failures);
        Assert.Contains(failures, f => f.StartsWith("Cluster:SiloPort must be a port from 1 to 65535", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Cluster:CallTimeout must be a positive time span", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Cluster:Tls:CertificatePath", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_PostgresModeWithoutConnectionString_FailsNamingIt()
    {
        await using var host = CodexHost.CreateSilo(new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = _directory,
            ["Cluster:Mode"] = "Postgres",
        });

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestTimeouts.Wait));

        Assert.Contains("ConnectionStrings:Postgres is required when Storage:Provider is Postgres.", Flatten(error));
    }

    [Fact]
    public async Task Start_PureClientInLocalMode_FailsSayingItNeedsPostgres()
    {
        await using var host = CodexHost.CreateClient(new Dictionary<string, string?>());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestTimeouts.Wait));

        Assert.Contains(Flatten(error), f => f.StartsWith("A pure cluster client (Api:CoHostSilo=false) needs Cluster:Mode = Postgres", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_RetiredSettingsConfigured_StartsAndWarnsThatTheyAreIgnored()
    {
        await using var host = CodexHost.CreateSilo(new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = _directory,
            ["Cluster:Secret"] = "0123456789abcdef0123",
            ["Cluster:HeartbeatPeriod"] = "00:00:01",
        });

        await host.StartAsync(TestTimeouts.Wait);

        var retired = host.Logs.Entries.Where(e => e.Id.Id == 4001).Select(e => e.Message).ToList();
        Assert.Equal(2, retired.Count);
        Assert.Contains(retired, m => m.StartsWith("Cluster:Secret is ignored", StringComparison.Ordinal));
        Assert.Contains(retired, m => m.StartsWith("Cluster:HeartbeatPeriod is ignored", StringComparison.Ordinal));
        Assert.All(host.Logs.Entries, e => Assert.DoesNotContain("0123456789abcdef0123", e.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    private static List<string> Flatten(Exception error) => error switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Flatten).ToList(),
        OptionsValidationException validation => validation.Failures.ToList(),
        _ => [error.Message],
    };
}
