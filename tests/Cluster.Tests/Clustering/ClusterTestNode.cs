using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OrleansCodex.Cluster.Hosting;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Testing.Postgres;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>Membership timings of a test cluster (the same on every node, as in production).</summary>
public sealed record ClusterTimings(TimeSpan HeartbeatPeriod, TimeSpan DeathTimeout)
{
    /// <summary>Short, but with room for a loaded 2-core test machine: a healthy node is never declared dead by a slow heartbeat.</summary>
    public static readonly ClusterTimings Default = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3));

    /// <summary>What the failover tests use: a crash is noticed within about 2 s even without callers.</summary>
    public static readonly ClusterTimings Fast = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1500));

    /// <summary>Membership is read so rarely that caches stay stale for the whole test (only a call's retry refreshes).</summary>
    public static readonly ClusterTimings Slow = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
}

public sealed record MemberRow(string NodeId, long Incarnation, string Status, string Endpoint);

public sealed record DirectoryRow(string GrainType, string GrainKey, string NodeId, long Incarnation);

public sealed record CapturedLog(string Node, string Category, int EventId, LogLevel Level, string Message, Exception? Exception);

/// <summary>
/// One test's cluster: its own PostgreSQL database and cluster id, a shared <see cref="ClusterProbe"/> and log capture, and the nodes
/// started through it (all disposed with it, whatever state they are in).
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    public const string Secret = "clustering-tests-secret-0123456789";

    /// <summary>Upper bound of every wait; reached only when something is broken.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly ITestOutputHelper _output;
    private readonly List<ClusterTestNode> _nodes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ClusterHarness(ITestOutputHelper output, string connectionString, ClusterTimings timings)
    {
        _output = output;
        ConnectionString = connectionString;
        Timings = timings;
    }

    public string ConnectionString { get; }

    public string ClusterId { get; } = $"clustering-{Guid.NewGuid():N}";

    public ClusterTimings Timings { get; }

    public ClusterProbe Probe { get; } = new();

    public ConcurrentQueue<CapturedLog> Logs { get; } = new();

    public static async Task<ClusterHarness> CreateAsync(ITestOutputHelper output, ClusterTimings? timings = null)
    {
        var server = await PostgresServer.GetSharedAsync();
        var connectionString = await server.CreateDatabaseAsync();
        return new ClusterHarness(output, connectionString, timings ?? ClusterTimings.Default);
    }

    /// <summary>Starts a silo (grains, membership, the call endpoint) on a free port, or on <paramref name="port"/> (a restart).</summary>
    public Task<ClusterTestNode> StartSiloAsync(string nodeId, string? providers = null, int? port = null) =>
        StartAsync(nodeId, silo: true, providers, port);

    /// <summary>
    /// Starts silos at once (as a deployment does) and waits until every one of them has read a membership that shows them all Active:
    /// a node learns of peers that joined after it only at its next heartbeat read.
    /// </summary>
    public async Task<ClusterTestNode[]> StartSilosAsync(params (string NodeId, string? Providers)[] silos)
    {
        var nodes = await Task.WhenAll(silos.Select(s => StartSiloAsync(s.NodeId, s.Providers)));
        await WaitForConvergedViewsAsync(nodes);
        return nodes;
    }

    public Task<ClusterTestNode[]> StartSilosAsync(params string[] nodeIds) => StartSilosAsync([.. nodeIds.Select(id => (id, (string?)null))]);

    /// <summary>Waits until the membership view of each of <paramref name="nodes"/> shows every silo among them Active.</summary>
    public static Task WaitForConvergedViewsAsync(IReadOnlyList<ClusterTestNode> nodes)
    {
        var silos = nodes.Where(n => n.IsSilo).Select(n => n.Address!.Value).ToList();
        return UntilAsync(
            () => Task.FromResult(nodes.All(n => n.Membership.Snapshot is { } view
                && silos.All(s => view.Find(s)?.Status == NodeStatus.Active))),
            "every node sees every silo Active");
    }

    /// <summary>Starts a pure client (<c>AddClusterClient</c>): calls grains on the silos, hosts none, never joins membership.</summary>
    public Task<ClusterTestNode> StartClientAsync(string nodeId) => StartAsync(nodeId, silo: false, providers: null, port: null);

    private async Task<ClusterTestNode> StartAsync(string nodeId, bool silo, string? providers, int? port)
    {
        ClusterTestNode node;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                node = await ClusterTestNode.StartAsync(this, nodeId, silo, providers, port ?? FreePort());
                break;
            }
            catch (IOException ex) when (port is null && attempt < 3)
            {
                // The free port was taken by someone else between choosing and binding it.
                Log($"starting {nodeId} failed ({ex.Message}); trying another port");
            }
        }

        lock (_nodes)
        {
            _nodes.Add(node);
        }

        Log($"started {(silo ? "silo" : "client")} {nodeId} at {node.Endpoint} as {node.Address}");
        return node;
    }

    public void Log(string message) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,7:F3}s] {message}");

    public async Task<IReadOnlyList<MemberRow>> ReadMembersAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT node_id, incarnation, status, endpoint FROM cluster_members WHERE cluster_id = @cluster ORDER BY node_id, incarnation", connection);
        command.Parameters.AddWithValue("cluster", ClusterId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<MemberRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new MemberRow(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<DirectoryRow>> ReadDirectoryAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT grain_type, grain_key, node_id, incarnation FROM grain_directory ORDER BY grain_type, grain_key", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<DirectoryRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new DirectoryRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return rows;
    }

    public async Task<MemberRow?> ReadMemberAsync(NodeAddress address) =>
        (await ReadMembersAsync()).SingleOrDefault(m => m.NodeId == address.NodeId && m.Incarnation == address.Incarnation);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; throws after <see cref="Wait"/> (or <paramref name="timeout"/>).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? Wait;
        while (!await condition())
        {
            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit} waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        ClusterTestNode[] nodes;
        lock (_nodes)
        {
            nodes = [.. _nodes];
        }

        await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        foreach (var log in Logs.Where(l => l.Level >= LogLevel.Information))
        {
            _output.WriteLine($"{log.Node} {log.Level} {log.Category}[{log.EventId}] {log.Message}{(log.Exception is null ? "" : $" ({log.Exception.GetType().Name}: {log.Exception.Message})")}");
        }
    }
}

/// <summary>
/// A node of a test cluster: a real Kestrel on 127.0.0.1 with <c>AddClusterRuntime</c> (or <c>AddClusterClient</c>) in
/// <c>Cluster:Mode=Postgres</c>, built from an empty builder with in-memory settings only. It runs like a production host
/// (<c>RunAsync</c>): when something stops the application (a declared-dead node does), the host stops.
/// </summary>
internal sealed class ClusterTestNode : IAsyncDisposable
{
    private readonly ClusterHarness _harness;
    private readonly Task _run;
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private ClusterTestNode(ClusterHarness harness, WebApplication app, string nodeId, int port, bool silo, Task run)
    {
        _harness = harness;
        App = app;
        NodeId = nodeId;
        Port = port;
        IsSilo = silo;
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _run = run;
        Lifetime.ApplicationStopping.Register(() => _stopping.TrySetResult());
    }

    public WebApplication App { get; }

    public string NodeId { get; }

    public int Port { get; }

    public bool IsSilo { get; }

    public Uri Endpoint { get; }

    public IServiceProvider Services => App.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public IHostApplicationLifetime Lifetime => Services.GetRequiredService<IHostApplicationLifetime>();

    /// <summary>The incarnation this node serves as; null before it joined, after it left, once it learnt it is dead, or on a client.</summary>
    public NodeAddress? Address => Services.GetService<LocalNode>()?.Address;

    public MembershipAgent Agent => Services.GetRequiredService<MembershipAgent>();

    public IMembershipView Membership => Services.GetRequiredService<IMembershipView>();

    /// <summary>Completes when the application starts stopping (asked by the test, or by the node itself).</summary>
    public Task Stopping => _stopping.Task;

    /// <summary>Completes when the host has stopped.</summary>
    public Task Stopped => _run;

    public T Grain<T>(string key) where T : IGrainWithStringKey => Grains.GetGrain<T>(key);

    internal static async Task<ClusterTestNode> StartAsync(ClusterHarness harness, string nodeId, bool silo, string? providers, int port)
    {
        var url = $"http://127.0.0.1:{port}";
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = url,
            ["Cluster:Mode"] = "Postgres",
            ["Cluster:NodeId"] = nodeId,
            ["Cluster:ClusterId"] = harness.ClusterId,
            ["Cluster:Secret"] = ClusterHarness.Secret,
            // Bounded, so that three busy nodes (and the other test classes) stay well within the server's max_connections.
            ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(harness.ConnectionString) { MaxPoolSize = 16 }.ConnectionString,
            ["Cluster:AdvertisedUrl"] = $"{url}/",
            ["Cluster:HeartbeatPeriod"] = harness.Timings.HeartbeatPeriod.ToString("c", CultureInfo.InvariantCulture),
            ["Cluster:DeathTimeout"] = harness.Timings.DeathTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Cluster:ShutdownTimeout"] = "00:00:10",
            ["Cluster:CallTimeout"] = "00:00:15",
        };
        if (providers is not null)
        {
            settings["Cluster:Metadata:providers"] = providers;
        }

        // Empty builder: the machine's environment variables and appsettings must not change what the tests see.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseKestrelCore().UseUrls(url);
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(20));
        builder.Services.AddRouting();
        builder.Services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddFilter("OrleansCodex", LogLevel.Debug);
            logging.AddProvider(new CapturingLoggerProvider(harness.Logs, nodeId));
        });
        builder.Services.AddSingleton(harness.Probe);
        // Grains of other test folders are registered too (AddGrains scans the assembly); this one asks for it.
        builder.Services.AddSingleton<Runtime.GrainProbe>();
        if (silo)
        {
            builder.Services.AddClusterRuntime(builder.Configuration);
        }
        else
        {
            builder.Services.AddClusterClient(builder.Configuration);
        }

        builder.Services.AddGrains(typeof(ClusteringTestGrainBase).Assembly);
        var app = builder.Build();
        app.UseRouting();
        app.MapClusterEndpoints();
        using (var timeout = new CancellationTokenSource(ClusterHarness.Wait))
        {
            try
            {
                await app.StartAsync(timeout.Token);
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }

        // Like RunAsync: once the application is asked to stop, by anyone, the host stops.
        var run = app.WaitForShutdownAsync();
        return new ClusterTestNode(harness, app, nodeId, port, silo, run);
    }

    /// <summary>Stops the host gracefully, as an operator would (SIGTERM): ShuttingDown, deactivate every grain, Dead.</summary>
    public async Task StopAsync()
    {
        Lifetime.StopApplication();
        await _run.WaitAsync(ClusterHarness.Wait);
    }

    /// <summary>
    /// Simulates a crashed process: heartbeats stop without a word to the membership table (the agent is disposed, as a killed process
    /// would leave it), and the port stops accepting connections at once (Kestrel stopped with an already cancelled token, aborting
    /// open connections). Nothing graceful runs: no ShuttingDown, no deactivation, no directory cleanup.
    /// </summary>
    public async Task CrashAsync()
    {
        await Agent.DisposeAsync().AsTask().WaitAsync(ClusterHarness.Wait);
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        try
        {
            await Services.GetRequiredService<IServer>().StopAsync(aborted.Token).WaitAsync(ClusterHarness.Wait);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            Lifetime.StopApplication();
            await _run.WaitAsync(ClusterHarness.Wait);
        }
        catch (Exception ex)
        {
            _harness.Log($"stopping {NodeId} failed: {ex.GetType().Name}: {ex.Message}");
        }

        try
        {
            await App.DisposeAsync().AsTask().WaitAsync(ClusterHarness.Wait);
        }
        catch (Exception ex)
        {
            _harness.Log($"disposing {NodeId} failed: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

/// <summary>Keeps every log entry of the nodes of one test, tagged with the node, for assertions and for the test output.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<CapturedLog> logs, string node) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(logs, node, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<CapturedLog> logs, string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Enqueue(new CapturedLog(node, category, eventId.Id, logLevel, formatter(state, exception), exception));
    }
}
