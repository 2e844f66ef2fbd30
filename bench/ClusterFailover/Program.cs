using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Postgres;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

// Three service processes (Api co-hosting an Orleans silo) in one PostgreSQL cluster, the real Codex CLI against the stub model
// server. Measures (0) a node's start (process start to /health ok, joined) and its memory (RSS) once warm, (1) a grain call and a
// resumed turn sent to the conversation's own node versus to another node, and (2) failover: kill -9 of the node holding the
// conversation (with its CLIs, as a machine dies), then the time until the next turn, sent to a surviving node, is answered.
// Usage: dotnet run -c Release --project bench/ClusterFailover [kills] [calls]
var kills = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var calls = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
const string Model = StubModelServer.CodexModel;

await using var stub = await StubModelServer.StartAsync();
using var cli = CliTestEnvironment.Create(stub);
var postgres = await PostgresServer.GetSharedAsync();
var connectionString = await postgres.CreateDatabaseAsync();
var environment = new Dictionary<string, string>(cli.Environment)
{
    ["CODEX_PATH"] = cli.CodexPath,
    ["CLAUDE_PATH"] = cli.ClaudePath,
    ["Serilog__MinimumLevel__Default"] = "Warning",
    ["Serilog__MinimumLevel__Override__OrleansCodex.Grains.Conversations.ConversationGrain"] = "Information",
};

var nodes = new Dictionary<string, ServiceProcess>();
var ports = new Dictionary<string, (int Silo, int Gateway)>();
var starts = new List<double>();
try
{
    foreach (var id in new[] { "node-1", "node-2", "node-3" })
    {
        nodes[id] = await StartNodeAsync(id);
    }

    Console.WriteLine(FormattableString.Invariant(
        $"Node start (process start → /health ok, silo active in the cluster): {string.Join(", ", starts.Select(s => $"{s:F0}"))} ms."));

    // (1) Cross-node versus local: the conversation lives on node-1, which received its first turn.
    var head = await TurnAsync(nodes["node-1"], null);
    var getLocal = await MeasureAsync(calls, () => GetAsync(nodes["node-1"], head));
    var getRemote = await MeasureAsync(calls, () => GetAsync(nodes["node-2"], head));
    var turnLocal = await MeasureAsync(calls, async () => head = await TurnAsync(nodes["node-1"], head));
    var turnRemote = await MeasureAsync(calls, async () => head = await TurnAsync(nodes["node-2"], head));
    Console.WriteLine($"{calls} calls each after 2 warm-ups; milliseconds (min / median / max); stub answers instantly.");
    Console.WriteLine("| call | to the conversation's node | to another node | added by the hop (median) |");
    Console.WriteLine("|---|---|---|---|");
    Report("GET /v1/responses/{id} (one grain call)", getLocal, getRemote);
    Report("resumed Codex turn (streamed grain call)", turnLocal, turnRemote);
    Console.WriteLine(FormattableString.Invariant(
        $"RSS of each node after these turns (service process only, CLIs apart): {string.Join(", ", nodes.Select(n => $"{n.Key} {RssMiB(n.Value.ProcessId):F0} MiB"))}."));

    // (2) Failover after kill -9 of the owner: each time a new two-turn conversation (the stub echoes the whole history, so one
    // long conversation would make later turns slower for reasons unrelated to failover), its node killed, the next turn sent to
    // another node, which starts a fresh CLI session seeded with the transcript.
    var failovers = new double[kills];
    for (var i = 0; i < kills; i++)
    {
        var owner = nodes.Keys.ElementAt(i % nodes.Count);
        var survivor = nodes.Keys.ElementAt((i + 1) % nodes.Count);
        var conversation = await TurnAsync(nodes[owner], await TurnAsync(nodes[owner], null));
        var killed = nodes[owner];
        var stopwatch = Stopwatch.StartNew();
        await killed.KillTreeAsync();
        conversation = await TurnAsync(nodes[survivor], conversation);
        failovers[i] = stopwatch.Elapsed.TotalMilliseconds;
        Console.Error.WriteLine(FormattableString.Invariant($"kill {i + 1}: {owner} -> {OwnerOf(conversation)} in {failovers[i]:F0} ms"));
        await killed.DisposeAsync();
        nodes[owner] = await StartNodeAsync(owner);
    }

    Array.Sort(failovers);
    Console.WriteLine();
    Console.WriteLine(FormattableString.Invariant(
        $"Failover, kill -9 of the conversation's node → next turn answered by another node: {Format(failovers)} ms over {kills} kills."));
}
finally
{
    foreach (var node in nodes.Values)
    {
        await node.DisposeAsync();
    }
}

return 0;

async Task<ServiceProcess> StartNodeAsync(string nodeId)
{
    if (!ports.TryGetValue(nodeId, out var orleans))
    {
        ports[nodeId] = orleans = (FreePort(), FreePort());
    }

    var stopwatch = Stopwatch.StartNew();
    var node = await ServiceProcess.StartAsync(environment, apiKey: "bench-key", cli.CreateWorkingDirectory(nodeId),
    [
        "--Cluster:Mode", "Postgres", "--Cluster:NodeId", nodeId, "--Cluster:ClusterId", "bench",
        "--Cluster:SiloPort", orleans.Silo.ToString(CultureInfo.InvariantCulture), "--Cluster:GatewayPort", orleans.Gateway.ToString(CultureInfo.InvariantCulture),
        "--ConnectionStrings:Postgres", connectionString,
    ], new ServiceStartOptions { RequireHealthOk = true });
    starts.Add(stopwatch.Elapsed.TotalMilliseconds);
    return node;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static double RssMiB(int pid) =>
    File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Select(l => double.Parse(Regex.Match(l, @"\d+").Value, CultureInfo.InvariantCulture) / 1024).FirstOrDefault();

async Task<string> TurnAsync(ServiceProcess node, string? previousId)
{
    using var http = node.CreateHttpClient();
    using var response = await http.PostAsJsonAsync("v1/responses", new Dictionary<string, object?>
    {
        ["model"] = Model,
        ["input"] = "benchmark turn",
        ["previous_response_id"] = previousId,
    });
    var body = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode
        ? JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!
        : throw new InvalidOperationException($"{(int)response.StatusCode}: {body}\n{node.Output}");
}

async Task GetAsync(ServiceProcess node, string responseId)
{
    using var http = node.CreateHttpClient();
    using var response = await http.GetAsync($"v1/responses/{responseId}");
    response.EnsureSuccessStatusCode();
}

// The node whose conversation grain logged the latest activation of the conversation.
string OwnerOf(string responseId)
{
    var conversation = "conv_" + responseId["resp_".Length..("resp_".Length + 24)];
    return nodes.Where(n => !n.Value.HasExited && n.Value.Output.Contains($"Activated conversation {conversation} on", StringComparison.Ordinal))
        .Select(n => n.Key).LastOrDefault() ?? "?";
}

static async Task<double[]> MeasureAsync(int runs, Func<Task> call)
{
    for (var i = 0; i < 2; i++)
    {
        await call();
    }

    var samples = new double[runs];
    for (var i = 0; i < runs; i++)
    {
        var stopwatch = Stopwatch.StartNew();
        await call();
        samples[i] = stopwatch.Elapsed.TotalMilliseconds;
    }

    Array.Sort(samples);
    return samples;
}

static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

static string Format(double[] sorted) => FormattableString.Invariant($"{sorted[0]:F0} / {Median(sorted):F0} / {sorted[^1]:F0}");

static void Report(string label, double[] local, double[] remote) =>
    Console.WriteLine(FormattableString.Invariant($"| {label} | {Format(local)} | {Format(remote)} | {Median(remote) - Median(local):F1} ms |"));
