using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Placement;
using OrleansCodex.Silo.Hosting;
using OrleansCodex.Silo.Tests.Clustering;
using OrleansCodex.Testing.Postgres;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>Answers with the name of the silo it runs on; placed at random, so that calls through one gateway also cross to the other silo.</summary>
public interface IEchoGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();
}

[RandomPlacement]
public sealed class EchoGrain(ILocalSiloDetails silo) : Grain, IEchoGrain
{
    public Task<string> WhereAmI() => Task.FromResult(silo.Name);
}

/// <summary>
/// Two silos and a pure client of a PostgreSQL cluster, each started through the service's own hosting code
/// (<c>AddOrleansCodexSilo</c>/<c>AddOrleansCodexClient</c>) on real TCP ports with <c>Cluster:Tls:CertificatePath</c> set to one
/// shared self-signed certificate: mutual TLS, where a peer must present that very certificate.
/// </summary>
public sealed class TlsClusterFixture : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"silo-tls-tests-{Guid.NewGuid():N}");
    private readonly List<CodexHost> _hosts = [];

    public string ClusterId { get; } = $"tls-{Guid.NewGuid():N}";

    public TestCertificate Certificate { get; private set; } = null!;

    /// <summary>Another self-signed certificate with the same subject: what an intruder without the cluster's key could present.</summary>
    public TestCertificate Intruder { get; private set; } = null!;

    public int[] SiloPorts { get; } = new int[2];

    public int[] GatewayPorts { get; } = new int[2];

    public CodexHost Client { get; private set; } = null!;

    public CodexHost[] Silos { get; } = new CodexHost[2];

    public async Task InitializeAsync()
    {
        Certificate = TestCertificate.Create(Path.Combine(_directory, "cluster"), "orleanscodex-node");
        Intruder = TestCertificate.Create(Path.Combine(_directory, "intruder"), "orleanscodex-node");
        var connectionString = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync();
        for (var i = 0; i < 2; i++)
        {
            (SiloPorts[i], GatewayPorts[i]) = (FreePort(), FreePort());
            Silos[i] = Track(CodexHost.CreateSilo(new Dictionary<string, string?>(Common(connectionString))
            {
                ["Cluster:NodeId"] = $"tls-node-{i}",
                ["Cluster:SiloPort"] = $"{SiloPorts[i]}",
                ["Cluster:GatewayPort"] = $"{GatewayPorts[i]}",
                ["Storage:DataDirectory"] = Path.Combine(_directory, $"node-{i}"),
            }));
            await Silos[i].StartAsync(TestTimeouts.Wait);
        }

        Client = Track(CodexHost.CreateClient(Common(connectionString)));
        await Client.StartAsync(TestTimeouts.Wait);
    }

    public async Task DisposeAsync()
    {
        // Client first, then the silos in reverse: each leaves the cluster gracefully.
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            await _hosts[i].DisposeAsync();
        }

        Certificate?.Dispose();
        Intruder?.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Dictionary<string, string?> Common(string connectionString) => new()
    {
        ["Cluster:Mode"] = "Postgres",
        ["Cluster:ClusterId"] = ClusterId,
        ["ConnectionStrings:Postgres"] = connectionString,
        ["Cluster:Tls:CertificatePath"] = Certificate.PfxPath,
        ["Cluster:Tls:CertificatePassword"] = Certificate.Password,
    };

    private CodexHost Track(CodexHost host)
    {
        _hosts.Add(host);
        return host;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Mutual TLS between silos and clients (<c>Cluster:Tls:*</c>): calls work with the cluster's certificate, any other peer is refused.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MutualTlsTests(TlsClusterFixture cluster) : IClassFixture<TlsClusterFixture>
{
    [Fact]
    public async Task Cluster_AllPeersPresentTheSharedCertificate_SilosJoinAndClientCallsReachBoth()
    {
        var grains = cluster.Client.Grains;

        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TestTimeouts.Wait);
        var answered = new HashSet<string>();
        for (var i = 0; i < 40 && answered.Count < 2; i++)
        {
            answered.Add(await grains.GetGrain<IEchoGrain>($"echo-{i}").WhereAmI().WaitAsync(TestTimeouts.Wait));
        }

        Assert.Equal(2, hosts.Count);
        Assert.Equal(["tls-node-0", "tls-node-1"], answered.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Gateway_ClientPresentsTheSharedCertificate_Accepted()
    {
        // The control for the refusals below: the same hand-made client, with the cluster's certificate.
        await using var client = await StartStaticClientAsync(cluster.Certificate.Certificate);

        var silo = await client.Services.GetRequiredService<IClusterClient>().GetGrain<IEchoGrain>("control").WhereAmI().WaitAsync(TestTimeouts.Wait);

        Assert.StartsWith("tls-node-", silo, StringComparison.Ordinal);
    }

    [Fact]
    public Task Gateway_ClientPresentsAnotherCertificate_RefusedByTheSilo() => AssertClientRefusedAsync(cluster.Intruder.Certificate);

    [Fact]
    public Task Gateway_ClientWithoutTls_RefusedByTheSilo() => AssertClientRefusedAsync(certificate: null);

    [Fact]
    public async Task SiloPort_PeerPresentsAnotherCertificate_RefusedAndDisconnected()
    {
        // What a would-be silo without the cluster's key meets on the silo-to-silo port.
        var failuresBefore = AuthenticationFailures(1);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, cluster.SiloPorts[1]).WaitAsync(TestTimeouts.Wait);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(TestTimeouts.Wait);

        var read = await Record.ExceptionAsync(async () =>
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = [cluster.Intruder.Certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, timeout.Token);
            // With TLS 1.3 the server checks the client's certificate after the client's side of the handshake is done: the refusal
            // arrives as an alert or a closed connection on the first read.
            var received = await tls.ReadAsync(new byte[1], timeout.Token);
            Assert.Equal(0, received);
        });

        Assert.False(read is OperationCanceledException, "the silo neither refused nor closed the connection");
        await AssertSiloRefusedAsync(1, failuresBefore, read);
    }

    /// <summary>Orleans' TLS middleware logs every handshake it refuses (Orleans.Connections.Security, "Authentication failed").</summary>
    private int AuthenticationFailures(int silo) => cluster.Silos[silo].Logs.Entries.Count(e =>
        e.Category.Contains("Tls", StringComparison.Ordinal) && e.Message == "Authentication failed");

    /// <summary>
    /// A client with <paramref name="certificate"/> (none: plain TCP) does not get in: the first silo's TLS check turns it away, and
    /// its start never completes (Orleans keeps asking a gateway for the cluster manifest) until it is given up.
    /// </summary>
    private async Task AssertClientRefusedAsync(X509Certificate2? certificate)
    {
        var failuresBefore = AuthenticationFailures(0);
        using var giveUp = new CancellationTokenSource(TestTimeouts.Wait);

        var starting = StartStaticClientAsync(certificate, giveUp.Token);
        await AssertSiloRefusedAsync(0, failuresBefore, clientError: null);
        await giveUp.CancelAsync();

        var error = await Record.ExceptionAsync(async () => await (await starting).DisposeAsync());
        Assert.NotNull(error);
    }

    /// <summary>The peer did not get in, and it was the silo's TLS check that turned it away.</summary>
    private async Task AssertSiloRefusedAsync(int silo, int failuresBefore, Exception? clientError)
    {
        await TestTimeouts.EventuallyAsync(
            () => AuthenticationFailures(silo) > failuresBefore,
            TimeSpan.FromSeconds(10),
            $"tls-node-{silo} logs the refused TLS handshake (client saw: {clientError?.GetType().Name ?? "nothing"})");
    }

    /// <summary>
    /// A plain Orleans client pointed at the first silo's gateway, without the service's retry filter. It accepts any silo
    /// certificate: what is tested is whether the silo accepts it.
    /// </summary>
    private async Task<StaticClient> StartStaticClientAsync(X509Certificate2? certificate, CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, cluster.GatewayPorts[0]));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = ClusterNodeOptions.ServiceId;
            });
            if (certificate is not null)
            {
                client.UseTls(certificate, o =>
                {
                    o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
                    o.AllowAnyRemoteCertificate();
                });
            }
        });
        var host = builder.Build();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TestTimeouts.Wait);
            await host.StartAsync(timeout.Token);
            return new StaticClient(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private sealed class StaticClient(IHost host) : IAsyncDisposable
    {
        public IServiceProvider Services => host.Services;

        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Wait);
            await host.StopAsync(timeout.Token);
            host.Dispose();
        }
    }
}
