using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Postgres;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.Cluster;

/// <summary>
/// A real three-node Orleans cluster: one throw-away PostgreSQL database (Orleans' ADO.NET membership and grain state, our turn
/// log), one stub model server, one set of CLI homes, and three processes of the Api (each co-hosting a silo) in
/// <c>Cluster:Mode=Postgres</c>, on fixed loopback HTTP, silo and gateway ports so that a node can be restarted at the same address.
/// Conversations log their activations, so tests can count them from the processes' output; an Orleans client of the cluster
/// (<see cref="WhereIsAsync"/>) asks Orleans itself where a conversation lives. Tests may kill, pause or restart nodes;
/// <see cref="EnsureClusterAsync"/> brings the three back. Every process started with this fixture's <c>CODEX_HOME</c> (nodes,
/// silos, clients, CLIs) must be gone when it is disposed.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-orleanscodex-cluster-0123456789";

    /// <summary>The nodes' call timeout: short, so that the tests also prove a turn silent for longer than it (the stub's pause) survives.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(3);

    public static readonly IReadOnlyList<string> NodeIds = ["node-1", "node-2", "node-3"];

    private static readonly TimeSpan ClusterWait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, ServiceProcess> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _ports = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Silo, int Gateway)> _orleansPorts = new(StringComparer.Ordinal);
    private IHost? _client;
    private readonly ConcurrentDictionary<string, string> _directories = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<ServiceProcess> _others = [];
    private int _disposed;

    public PostgresServer Postgres { get; private set; } = null!;

    /// <summary>The three nodes' database.</summary>
    public string ConnectionString { get; private set; } = null!;

    public string ClusterId { get; } = $"cluster-tests-{Guid.NewGuid().ToString("N")[..8]}";

    public StubModelServer Stub { get; private set; } = null!;

    public CliTestEnvironment Cli { get; private set; } = null!;

    public ServiceProcess Node(string nodeId) => _nodes[nodeId];

    public IEnumerable<ServiceProcess> Nodes => NodeIds.Select(id => _nodes[id]);

    /// <summary>What every process of this fixture inherits: the CLI homes (pointing at the stub) and Information logging.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(Cli.Environment.Concat(StubModelServer.MagicModels.ServiceSettings()))
    {
        ["CODEX_PATH"] = Cli.CodexPath,
        ["CLAUDE_PATH"] = Cli.ClaudePath,
        ["Serilog__MinimumLevel__Default"] = "Information",
    };

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.GetSharedAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync();
        Stub = await StubModelServer.StartAsync();
        Cli = CliTestEnvironment.Create(Stub);
        try
        {
            await Task.WhenAll(NodeIds.Select(StartNodeAsync));
            await WaitForClusterAsync();
        }
        catch
        {
            // Whatever did start must not outlive a failed start.
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The cluster arguments of a node of a <c>Postgres</c> cluster (add <c>--urls</c> through <see cref="ServiceProcess"/>): its own
    /// silo and gateway ports, a short call timeout, and room for many turns queued on one conversation (the concurrency test).
    /// </summary>
    public static List<string> ClusterArguments(string nodeId, string clusterId, string connectionString, (int Silo, int Gateway) ports) =>
    [
        "--Cluster:Mode", "Postgres",
        "--Cluster:NodeId", nodeId,
        "--Cluster:ClusterId", clusterId,
        "--Cluster:SiloPort", ports.Silo.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--Cluster:GatewayPort", ports.Gateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--Cluster:CallTimeout", CallTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        "--Conversations:MaxQueuedTurns", "128",
        "--Workers:QueueTimeout", "00:03:00",
        "--ConnectionStrings:Postgres", connectionString,
    ];

    /// <summary>Two free loopback ports for a silo and its gateway.</summary>
    public static (int Silo, int Gateway) FreeOrleansPorts() => (FreePort(), FreePort());

    /// <summary>The silo and gateway ports of one of the three nodes (the same across its restarts).</summary>
    public (int Silo, int Gateway) OrleansPorts(string nodeId) => _orleansPorts.GetOrAdd(nodeId, _ => FreeOrleansPorts());

    /// <summary>
    /// Where Orleans says the conversation is activated, as the node id (by silo port), asked through an Orleans client of the
    /// cluster; null when it has no activation.
    /// </summary>
    public async Task<string?> WhereIsAsync(string conversationId)
    {
        var client = await ClientAsync();
        var grain = client.GetGrain<IConversationGrain>(conversationId);
        // Right after a failover the directory may still be recovering the dead silo's range: ask again for a moment.
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var silo = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
            if (silo is not null || stopwatch.Elapsed > TimeSpan.FromSeconds(5))
            {
                return silo is null ? null : NodeIds.FirstOrDefault(id => OrleansPorts(id).Silo == silo.Endpoint.Port) ?? silo.ToString();
            }

            await Task.Delay(200);
        }
    }

    /// <summary>How many activations of the conversation the cluster has, as Orleans counts them.</summary>
    public async Task<int> ActivationCountAsync(string conversationId)
    {
        var client = await ClientAsync();
        var grain = (GrainReference)(object)client.GetGrain<IConversationGrain>(conversationId);
        return await client.GetGrain<IManagementGrain>(0).GetGrainActivationCount(grain);
    }

    private async Task<IClusterClient> ClientAsync()
    {
        if (_client is null)
        {
            var host = new HostBuilder()
                .UseOrleansClient(client => client
                    .Configure<ClusterOptions>(o =>
                    {
                        o.ClusterId = ClusterId;
                        o.ServiceId = "orleanscodex";
                    })
                    .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10))
                    .UseAdoNetClustering(o =>
                    {
                        o.Invariant = "Npgsql";
                        o.ConnectionString = ConnectionString;
                    }))
                .Build();
            await host.StartAsync();
            _client = host;
        }

        return _client.Services.GetRequiredService<IClusterClient>();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts another process with this fixture's environment (a silo or a pure client of another cluster); disposed with the fixture at the latest.</summary>
    public async Task<ServiceProcess> StartOtherAsync(string name, IEnumerable<string> arguments, ServiceExecutable executable)
    {
        var process = await ServiceProcess.StartAsync(Environment, ApiKey, Cli.CreateWorkingDirectory(name), arguments,
            new ServiceStartOptions { Executable = executable, RequireHealthOk = true });
        _others.Add(process);
        return process;
    }

    /// <summary>Stops (gracefully if it still runs) and starts a node again with the same id, port and data directory: a new silo generation.</summary>
    public async Task<ServiceProcess> RestartNodeAsync(string nodeId)
    {
        if (_nodes.TryRemove(nodeId, out var old))
        {
            await old.DisposeAsync();
        }

        return await StartNodeAsync(nodeId);
    }

    /// <summary>
    /// Brings the fixture back to three serving nodes that all see each other as Active: restarts nodes that exited or do not serve
    /// (e.g. declared dead), then waits until membership converged.
    /// </summary>
    public async Task EnsureClusterAsync()
    {
        foreach (var id in NodeIds)
        {
            if (!_nodes.TryGetValue(id, out var node) || node.HasExited)
            {
                await RestartNodeAsync(id);
            }
        }

        if (await TryWaitForClusterAsync(ClusterWait) is { Count: > 0 } notServing)
        {
            foreach (var id in notServing)
            {
                await RestartNodeAsync(id);
            }

            await WaitForClusterAsync();
        }
    }

    /// <summary>Waits until every node serves and lists every node's serving silo as Active.</summary>
    public async Task WaitForClusterAsync()
    {
        if (await TryWaitForClusterAsync(ClusterWait) is { Count: > 0 } notServing)
        {
            throw new TimeoutException($"The cluster did not converge within {ClusterWait}; not serving or not seen by all: {string.Join(", ", notServing)}.");
        }
    }

    /// <summary>Node ids that, after <paramref name="timeout"/>, still do not serve or are not seen Active by every node; empty once converged.</summary>
    private async Task<IReadOnlyList<string>> TryWaitForClusterAsync(TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        IReadOnlyList<string> lagging = NodeIds;
        while (stopwatch.Elapsed < timeout)
        {
            var health = new Dictionary<string, ClusterView?>(StringComparer.Ordinal);
            foreach (var id in NodeIds)
            {
                health[id] = _nodes.TryGetValue(id, out var node) && !node.HasExited ? await ClusterViewAsync(node) : null;
            }

            lagging = NodeIds.Where(id =>
                    health[id] is not { Serving: true, Silo: { } silo }
                    || health.Values.Any(view => view is null || !view.Active.Contains((id, silo))))
                .ToList();
            if (lagging.Count == 0)
            {
                return lagging;
            }

            await Task.Delay(100);
        }

        return lagging;
    }

    /// <summary>This node's <c>cluster</c> section of <c>/health</c>, or null when it does not answer.</summary>
    public static async Task<ClusterView?> ClusterViewAsync(ServiceProcess node)
    {
        try
        {
            using var http = node.CreateHttpClient();
            http.Timeout = TimeSpan.FromSeconds(5);
            using var response = await http.GetAsync("health");
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (!json.RootElement.TryGetProperty("cluster", out var cluster))
            {
                return null;
            }

            var active = cluster.GetProperty("members").EnumerateArray()
                .Where(m => m.GetProperty("status").GetString() == "Active")
                .Select(m => (m.GetProperty("node_id").GetString()!, m.GetProperty("address").GetString()!))
                .ToHashSet();
            return new ClusterView(
                cluster.GetProperty("node_id").GetString()!,
                cluster.GetProperty("serving").GetBoolean(),
                cluster.TryGetProperty("silo", out var silo) && silo.ValueKind == JsonValueKind.String ? silo.GetString() : null,
                active);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>This cluster's membership rows (Orleans' table) of one node, oldest silo generation first.</summary>
    public async Task<IReadOnlyList<MemberRow>> MemberRowsAsync(string nodeId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT siloname, generation, status, address, port FROM orleansmembershiptable WHERE deploymentid = @cluster AND siloname = @node ORDER BY generation", connection);
        command.Parameters.AddWithValue("cluster", ClusterId);
        command.Parameters.AddWithValue("node", nodeId);
        var rows = new List<MemberRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new MemberRow(reader.GetString(0), reader.GetInt32(1), ((SiloStatus)reader.GetInt32(2)).ToString(), $"{reader.GetString(3)}:{reader.GetInt32(4)}"));
        }

        return rows;
    }

    /// <summary>Processes of this fixture's environment that no running service of the fixture owns: orphaned CLIs or lost services.</summary>
    public IReadOnlyList<ProcessTree.Entry> StrayProcesses()
    {
        // Candidates first, owners second: a CLI a node starts between the two looks (a status probe) is then among its descendants.
        var candidates = ProcessTree.WithEnvironmentEntry($"CODEX_HOME={Cli.CodexHome}");
        var owned = new HashSet<int>();
        foreach (var service in _nodes.Values.Concat(_others).Where(s => !s.HasExited))
        {
            owned.Add(service.ProcessId);
            owned.UnionWith(service.Descendants().Select(d => d.Pid));
        }

        return candidates.Where(p => !owned.Contains(p.Pid) && ProcessTree.IsRunning(p.Pid)).ToList();
    }

    public async Task DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_client is not null)
        {
            await _client.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token).ContinueWith(_ => { });
            _client.Dispose();
        }

        await Task.WhenAll(_nodes.Values.Concat(_others).Select(async s => await s.DisposeAsync()));
        var leftovers = Cli is null ? [] : await WaitForNoProcessesAsync(TimeSpan.FromSeconds(10));
        foreach (var leftover in leftovers)
        {
            ProcessTree.Signal(leftover.Pid, 9);
        }

        Cli?.Dispose();
        if (Stub is not null)
        {
            await Stub.DisposeAsync();
        }

        if (leftovers.Count > 0)
        {
            throw new InvalidOperationException(
                $"Processes outlived the cluster fixture (killed now): {string.Join(", ", leftovers.Select(p => $"{p.Name} pid {p.Pid} (parent {p.ParentPid})"))}.");
        }
    }

    private async Task<IReadOnlyList<ProcessTree.Entry>> WaitForNoProcessesAsync(TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var remaining = ProcessTree.WithEnvironmentEntry($"CODEX_HOME={Cli.CodexHome}");
            if (remaining.Count == 0 || stopwatch.Elapsed > timeout)
            {
                return remaining;
            }

            await Task.Delay(100);
        }
    }

    private async Task<ServiceProcess> StartNodeAsync(string nodeId)
    {
        var directory = _directories.GetOrAdd(nodeId, id => Cli.CreateWorkingDirectory(id));
        var port = _ports.TryGetValue(nodeId, out var known) ? known : (int?)null;
        var node = await ServiceProcess.StartAsync(Environment, ApiKey, directory, ClusterArguments(nodeId, ClusterId, ConnectionString, OrleansPorts(nodeId)),
            new ServiceStartOptions { Port = port, RequireHealthOk = true });
        _ports[nodeId] = node.Port;
        _nodes[nodeId] = node;
        return node;
    }
}

/// <summary>What a node's <c>/health</c> says about the cluster: whether it serves, as which silo address, and the Active silos it sees.</summary>
public sealed record ClusterView(string NodeId, bool Serving, string? Silo, IReadOnlySet<(string NodeId, string Silo)> Active);

/// <summary>A row of Orleans' membership table: a silo name, the generation it started as, its status name and endpoint.</summary>
public sealed record MemberRow(string NodeId, int Generation, string Status, string Endpoint);

/// <summary>
/// The cluster tests measure failover and latency across processes: they run on their own, after the parallel collections of
/// this assembly, so that other tests' CLIs do not compete with them for the CPU.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Multi-node cluster";
}
