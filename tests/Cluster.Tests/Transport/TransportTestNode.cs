using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>A node for transport tests: the runtime on a temporary SQLite file, the transport endpoint, on a real Kestrel at 127.0.0.1:0.</summary>
internal sealed class TransportTestNode : IAsyncDisposable
{
    public const string Secret = "transport-tests-secret-0123456789";

    private readonly string _directory;

    private TransportTestNode(WebApplication app, string directory, NodeAddress address)
    {
        App = app;
        _directory = directory;
        Address = address;
        Endpoint = new Uri(app.Urls.Single());
    }

    public WebApplication App { get; }

    public NodeAddress Address { get; }

    public Uri Endpoint { get; }

    public RemoteNode AsTarget => new(Address, Endpoint);

    public GrainProbe Probe => App.Services.GetRequiredService<GrainProbe>();

    public RemoteGrainInvoker Invoker => App.Services.GetRequiredService<RemoteGrainInvoker>();

    public static async Task<TransportTestNode> StartAsync(NodeAddress address, IDictionary<string, string?>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"transport-tests-{Guid.NewGuid():N}");
        var all = new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = directory,
            ["Cluster:NodeId"] = address.NodeId,
            ["Cluster:Secret"] = Secret,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        // Empty builder: the machine's environment variables and appsettings must not change what the tests see.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Configuration.AddInMemoryCollection(all);
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        builder.Services.AddSingleton<GrainProbe>();
        builder.Services.AddSingleton<ILocalNodeIdentity>(new FixedNodeIdentity(address));
        builder.Services.AddClusterRuntime(builder.Configuration).AddGrains(typeof(TransportTestNode).Assembly);
        builder.Services.AddClusterTransport(builder.Configuration);
        var app = builder.Build();
        app.UseRouting();
        app.MapGrainTransport();
        using var timeout = new CancellationTokenSource(TestTimeouts.Wait);
        await app.StartAsync(timeout.Token);
        return new TransportTestNode(app, directory, address);
    }

    /// <summary>A grain method as the runtime analyses it, for handing to an invoker.</summary>
    public GrainMethod Method(string name) =>
        App.Services.GetRequiredService<GrainTypeRegistry>().GetInterface(typeof(IRemoteTestGrain)).GetMethod(typeof(IRemoteTestGrain).GetMethod(name)!);

    public static GrainId Grain(string key) => new(GrainTypeRegistry.GetGrainTypeName(typeof(RemoteTestGrain)), key);

    /// <summary>An invoker of its own (not the node's), e.g. with another secret or call timeout.</summary>
    public static RemoteGrainInvoker CreateInvoker(string secret = Secret, TimeSpan? callTimeout = null, GrainCallSerializationOptions? serialization = null) =>
        new(Options.Create(new ClusterTransportOptions { Secret = secret, CallTimeout = callTimeout ?? TimeSpan.FromSeconds(30) }),
            Options.Create(serialization ?? new GrainCallSerializationOptions()),
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RemoteGrainInvoker>.Instance);

    /// <summary>
    /// Posts a call to <paramref name="target"/> with a plain <see cref="HttpClient"/> (right secret and incarnation), for looking at
    /// the wire format; <paramref name="args"/> leave out the cancellation token.
    /// </summary>
    public static async Task<HttpResponseMessage> PostCallAsync(HttpClient client, TransportTestNode target, string key, GrainMethod method, params object?[] args)
    {
        var body = JsonSerializer.Serialize(new
        {
            grainType = Grain(key).Type,
            grainKey = key,
            @interface = GrainCallResolver.InterfaceName(method.Method),
            method = GrainCallResolver.Signature(method.Method),
            arguments = args,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.Endpoint, "/_cluster/v1/calls"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Cluster-Secret", Secret);
        request.Headers.Add("X-Cluster-Target-Node", target.Address.NodeId);
        request.Headers.Add("X-Cluster-Target-Incarnation", target.Address.Incarnation.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static Uri UnusedEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TestTimeouts.Wait))
        {
            await App.StopAsync(timeout.Token);
        }

        await App.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class FixedNodeIdentity(NodeAddress address) : ILocalNodeIdentity
    {
        public NodeAddress? Address => address;
    }
}

/// <summary>Two nodes, shared by the tests of a class (each test uses its own grain keys).</summary>
public class TwoNodeFixture : Xunit.IAsyncLifetime
{
    internal TransportTestNode A { get; private set; } = null!;

    internal TransportTestNode B { get; private set; } = null!;

    /// <summary>Settings of both nodes besides the defaults of <see cref="TransportTestNode.StartAsync"/>.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        A = await TransportTestNode.StartAsync(new NodeAddress("node-a", 1), Settings);
        B = await TransportTestNode.StartAsync(new NodeAddress("node-b", 2), Settings);
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
