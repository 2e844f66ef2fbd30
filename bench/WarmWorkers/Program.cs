using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

// The same N-turn conversation, per provider, run three ways against the same stub model server on 127.0.0.1:
//   (a) through OrleansCodex with warm workers (Cli:CodexMode=AppServer, Cli:ClaudeMode=Stream),
//   (b) through OrleansCodex spawning a CLI per turn (Cli:CodexMode=Exec, Cli:ClaudeMode=Print),
//   (c) directly with the CLIs, one process per turn (codex exec / exec resume, claude -p --session-id / --resume).
// Then the first turn of new conversations (POST /v1/responses) and stateless Chat Completions, where Claude's process start is
// paid unless a spare process (Workers:ClaudeSpares) takes it: (a) warm with spares, (a') warm without, (b) spawn, (c) directly.
// Each of those waits PauseBeforeFirst first, so that the spare taken by the one before has been replaced.
// Usage: dotnet run -c Release --project bench/WarmWorkers [turns] [conversations] [first turns]
var turns = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var conversations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var firsts = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
var pauseBeforeFirst = TimeSpan.FromSeconds(1.5);
await using var stub = await StubModelServer.StartAsync();
using var cli = CliTestEnvironment.Create(stub);

var results = new Dictionary<(string Provider, string Way), List<double>>();
var firstResults = new Dictionary<(string Provider, string Api, string Way), List<double>>();
foreach (var (way, codexMode, claudeMode, spares) in new[] { ("warm", "AppServer", "Stream", 1), ("warm, no spares", "AppServer", "Stream", 0), ("spawn", "Exec", "Print", 1) })
{
    var environment = new Dictionary<string, string>(cli.Environment)
    {
        ["CODEX_PATH"] = cli.CodexPath,
        ["CLAUDE_PATH"] = cli.ClaudePath,
        ["Cli__CodexMode"] = codexMode,
        ["Cli__ClaudeMode"] = claudeMode,
        ["Workers__ClaudeSpares"] = spares.ToString(CultureInfo.InvariantCulture),
        ["Serilog__MinimumLevel__Default"] = "Warning",
    };
    foreach (var (name, value) in StubModelServer.MagicModels.ServiceSettings())
    {
        environment[name] = value;
    }

    await using var service = await ServiceProcess.StartAsync(environment, apiKey: "bench-key", cli.CreateWorkingDirectory("service-" + way.Replace(", ", "-", StringComparison.Ordinal).Replace(' ', '-')));
    using var http = service.CreateHttpClient();
    foreach (var (provider, model) in Providers())
    {
        // One conversation to warm up (the app-server start, JIT, SQLite), then the measured ones.
        await ServiceConversationAsync(http, model, 2, null);
        if (spares > 0)
        {
            var samples = results[(provider, way)] = [];
            for (var c = 0; c < conversations; c++)
            {
                await ServiceConversationAsync(http, model, turns, samples);
            }
        }

        var first = firstResults[(provider, "responses", way)] = [];
        var chat = firstResults[(provider, "chat", way)] = [];
        for (var i = 0; i < firsts; i++)
        {
            await Task.Delay(pauseBeforeFirst);
            await ServiceConversationAsync(http, model, 1, first);
            await Task.Delay(pauseBeforeFirst);
            chat.Add(await ChatCompletionAsync(http, model, i));
        }
    }
}

foreach (var (provider, model) in Providers())
{
    await DirectConversationAsync(model, turns, null);
    var samples = results[(provider, "direct")] = [];
    for (var c = 0; c < conversations; c++)
    {
        await DirectConversationAsync(model, turns, samples);
    }

    var first = firstResults[(provider, "responses", "direct")] = [];
    for (var i = 0; i < firsts; i++)
    {
        await DirectConversationAsync(model, 1, first);
    }

    firstResults[(provider, "chat", "direct")] = first;
}

Console.WriteLine($"{conversations} conversations of {turns} turns per way, after one warm-up conversation; milliseconds per turn (min / median / max).");
Console.WriteLine("| provider | (a) OrleansCodex, warm | (b) OrleansCodex, spawn | (c) CLI directly | a / c | b / c | a / b |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var (provider, _) in Providers())
{
    var warm = Sorted(results[(provider, "warm")]);
    var spawn = Sorted(results[(provider, "spawn")]);
    var direct = Sorted(results[(provider, "direct")]);
    Console.WriteLine(FormattableString.Invariant(
        $"| {provider} | {Format(warm)} | {Format(spawn)} | {Format(direct)} | {Median(warm) / Median(direct):F2} | {Median(spawn) / Median(direct):F2} | {Median(warm) / Median(spawn):F2} |"));
}

Console.WriteLine();
Console.WriteLine($"First turns: {firsts} new conversations (Responses API) and {firsts} Chat Completions per way, each after a {pauseBeforeFirst.TotalSeconds:0.#}-s pause; milliseconds (min / median / max).");
Console.WriteLine("| provider | API | (a) warm, spares | (a') warm, no spares | (b) spawn | (c) CLI directly, one process | a / c | a / a' |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var (provider, _) in Providers())
{
    foreach (var api in new[] { "responses", "chat" })
    {
        var warm = Sorted(firstResults[(provider, api, "warm")]);
        var noSpares = Sorted(firstResults[(provider, api, "warm, no spares")]);
        var spawn = Sorted(firstResults[(provider, api, "spawn")]);
        var direct = Sorted(firstResults[(provider, api, "direct")]);
        Console.WriteLine(FormattableString.Invariant(
            $"| {provider} | {api} | {Format(warm)} | {Format(noSpares)} | {Format(spawn)} | {Format(direct)} | {Median(warm) / Median(direct):F2} | {Median(warm) / Median(noSpares):F2} |"));
    }
}

return 0;

static async Task<double> ChatCompletionAsync(HttpClient http, string model, int index)
{
    var stopwatch = Stopwatch.StartNew();
    using var response = await http.PostAsJsonAsync("v1/chat/completions", new Dictionary<string, object?>
    {
        ["model"] = model,
        ["messages"] = new[] { new { role = "user", content = $"benchmark chat {index}" } },
    });
    var body = await response.Content.ReadAsStringAsync();
    var elapsed = stopwatch.Elapsed.TotalMilliseconds;
    if (!response.IsSuccessStatusCode || !body.Contains($"benchmark chat {index}", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"chat completion {index}: {(int)response.StatusCode}: {body}");
    }

    return elapsed;
}

static (string Provider, string Model)[] Providers() => [("Codex", StubModelServer.CodexModel), ("Claude", StubModelServer.ClaudeModel)];

static async Task ServiceConversationAsync(HttpClient http, string model, int turns, List<double>? samples)
{
    string? previous = null;
    for (var turn = 1; turn <= turns; turn++)
    {
        var stopwatch = Stopwatch.StartNew();
        using var response = await http.PostAsJsonAsync("v1/responses", new Dictionary<string, object?>
        {
            ["model"] = model,
            ["input"] = $"benchmark turn {turn}",
            ["previous_response_id"] = previous,
        });
        var body = await response.Content.ReadAsStringAsync();
        samples?.Add(stopwatch.Elapsed.TotalMilliseconds);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{(int)response.StatusCode}: {body}");
        }

        var answer = JsonDocument.Parse(body).RootElement;
        if (!answer.GetProperty("output_text").GetString()!.Contains($"turn={turn} prior", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"turn {turn} did not see the conversation's history: {body}");
        }

        previous = answer.GetProperty("id").GetString();
    }
}

async Task DirectConversationAsync(string model, int turns, List<double>? samples)
{
    var codex = !model.StartsWith("claude", StringComparison.Ordinal);
    var directory = cli.CreateWorkingDirectory("direct");
    var session = codex ? null : Guid.NewGuid().ToString();
    for (var turn = 1; turn <= turns; turn++)
    {
        string[] arguments = codex
            ? session is null
                ? ["exec", "--json", "--skip-git-repo-check", "-m", model, "-s", "read-only", "-"]
                : ["exec", "--json", "--skip-git-repo-check", "-m", model, "-s", "read-only", "resume", session, "-"]
            : ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--model", model, turn == 1 ? "--session-id" : "--resume", session!];
        var stopwatch = Stopwatch.StartNew();
        var stdout = await RunCliAsync(codex ? cli.CodexPath : cli.ClaudePath, arguments, directory, $"benchmark turn {turn}");
        samples?.Add(stopwatch.Elapsed.TotalMilliseconds);
        if (!stdout.Contains($"turn={turn} prior", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"direct {model} turn {turn} did not see the conversation's history: {stdout}");
        }

        if (codex && session is null)
        {
            session = stdout.Split('\n').Select(line => line.Trim()).Where(line => line.StartsWith('{'))
                .Select(line => JsonDocument.Parse(line).RootElement)
                .First(e => e.GetProperty("type").GetString() == "thread.started").GetProperty("thread_id").GetString();
        }
    }
}

async Task<string> RunCliAsync(string executable, string[] arguments, string directory, string prompt)
{
    var start = new ProcessStartInfo(executable)
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        WorkingDirectory = directory,
    };
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    foreach (var (name, value) in cli.Environment)
    {
        start.Environment[name] = value;
    }

    using var process = Process.Start(start)!;
    await process.StandardInput.WriteAsync(prompt);
    process.StandardInput.Close();
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    return await stdout + await stderr;
}

static double[] Sorted(List<double> samples) => [.. samples.Order()];

static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

static string Format(double[] sorted) => FormattableString.Invariant($"{sorted[0]:F0} / {Median(sorted):F0} / {sorted[^1]:F0}");
