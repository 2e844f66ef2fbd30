using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

// Wall time of one turn through OrleansCodex (HTTP → grains → CLI → stub) against the same turn run directly with the CLI,
// both against the same stub model server on 127.0.0.1. Usage: dotnet run -c Release --project bench/TurnLatency [runs]
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
await using var stub = await StubModelServer.StartAsync();
using var cli = CliTestEnvironment.Create(stub);
var environment = new Dictionary<string, string>(cli.Environment)
{
    ["CODEX_PATH"] = cli.CodexPath,
    ["CLAUDE_PATH"] = cli.ClaudePath,
    ["Serilog__MinimumLevel__Default"] = Environment.GetEnvironmentVariable("BENCH_LOG_LEVEL") ?? "Warning",
};
foreach (var (name, value) in StubModelServer.MagicModels.ServiceSettings())
{
    environment[name] = value;
}

await using var service = await ServiceProcess.StartAsync(environment, apiKey: "bench-key", cli.CreateWorkingDirectory("service"));
using var http = service.CreateHttpClient();

Console.WriteLine($"{runs} runs each after 2 warm-ups; milliseconds (min / median / max); stub answers instantly.");
Console.WriteLine("| turn | through OrleansCodex | CLI directly | ratio (median) |");
Console.WriteLine("|---|---|---|---|");
foreach (var (label, model) in new[] { ("Codex, new conversation", StubModelServer.CodexModel), ("Claude, new conversation", StubModelServer.ClaudeModel) })
{
    var viaService = await MeasureAsync(runs, () => ServiceTurnAsync(model, previousId: null));
    var direct = await MeasureAsync(runs, () => DirectTurnAsync(model));
    Report(label, viaService, direct);
}

foreach (var (label, model) in new[] { ("Codex, continued (resume)", StubModelServer.CodexModel), ("Claude, continued (resume)", StubModelServer.ClaudeModel) })
{
    var head = await ServiceTurnAsync(model, previousId: null);
    var viaService = await MeasureAsync(runs, async () => head = await ServiceTurnAsync(model, head));
    Console.WriteLine($"| {label} | {Format(viaService)} | n/a | |");
}

if (Environment.GetEnvironmentVariable("BENCH_LOG_LEVEL") is not null)
{
    Console.WriteLine(service.Output);
}

return 0;

async Task<string> ServiceTurnAsync(string model, string? previousId)
{
    using var response = await http.PostAsJsonAsync("v1/responses", new Dictionary<string, object?>
    {
        ["model"] = model,
        ["input"] = "benchmark turn",
        ["previous_response_id"] = previousId,
    });
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{(int)response.StatusCode}: {body}\n{service.Output}");
    }

    return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
}

async Task<string> DirectTurnAsync(string model)
{
    var codex = !model.StartsWith("claude", StringComparison.Ordinal);
    var start = new ProcessStartInfo(codex ? cli.CodexPath : cli.ClaudePath)
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        WorkingDirectory = cli.CreateWorkingDirectory("direct"),
    };
    string[] arguments = codex
        ? ["exec", "--json", "--skip-git-repo-check", "-m", model, "-s", "read-only", "-"]
        : ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--model", model];
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    foreach (var (name, value) in cli.Environment)
    {
        start.Environment[name] = value;
    }

    using var process = Process.Start(start)!;
    await process.StandardInput.WriteAsync("benchmark turn");
    process.StandardInput.Close();
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (!(await stdout).Contains("ECHO", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"direct {model} failed: {await stderr}");
    }

    return "";
}

static async Task<double[]> MeasureAsync(int runs, Func<Task> turn)
{
    for (var i = 0; i < 2; i++)
    {
        await turn();
    }

    var samples = new double[runs];
    for (var i = 0; i < runs; i++)
    {
        var stopwatch = Stopwatch.StartNew();
        await turn();
        samples[i] = stopwatch.Elapsed.TotalMilliseconds;
    }

    Array.Sort(samples);
    return samples;
}

static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

static string Format(double[] sorted) => FormattableString.Invariant($"{sorted[0]:F0} / {Median(sorted):F0} / {sorted[^1]:F0}");

static void Report(string label, double[] viaService, double[] direct) =>
    Console.WriteLine(FormattableString.Invariant($"| {label} | {Format(viaService)} | {Format(direct)} | {Median(viaService) / Median(direct):F2} |"));
