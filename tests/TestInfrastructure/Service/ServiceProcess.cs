using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using OpenAI;
using OrleansCodex.Testing.Cli;

namespace OrleansCodex.Testing.Service;

/// <summary>Which executable a <see cref="ServiceProcess"/> runs.</summary>
public enum ServiceExecutable
{
    /// <summary><c>OrleansCodex.Api.dll</c>: the OpenAI front end (co-hosting a silo unless <c>--Api:CoHostSilo false</c>).</summary>
    Api,

    /// <summary><c>OrleansCodex.Silo.dll</c>: a grain host without the front end (<c>GET /health</c> is 503 until it serves).</summary>
    Silo,
}

/// <summary>How <see cref="ServiceProcess.StartAsync(IReadOnlyDictionary{string, string}, string?, string, IEnumerable{string}?, ServiceStartOptions?)"/> starts a process.</summary>
public sealed record ServiceStartOptions
{
    /// <summary>The loopback port to listen on; null picks a free one. Pass a stopped node's port to restart it at the same address.</summary>
    public int? Port { get; init; }

    public ServiceExecutable Executable { get; init; } = ServiceExecutable.Api;

    /// <summary>
    /// Ready only when <c>/health</c> answers 200 with <c>"status":"ok"</c> (every provider available and, in a cluster, the silo
    /// serving); otherwise any 200 will do.
    /// </summary>
    public bool RequireHealthOk { get; init; }

    /// <summary>How long to wait for readiness.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The service as a user runs it: <c>dotnet OrleansCodex.Api.dll --urls http://127.0.0.1:PORT</c> in its own process, with the CLIs'
/// environment (CODEX_HOME, ANTHROPIC_BASE_URL…) inherited from the server's, exactly as in production. Can also run the Silo
/// executable (<see cref="ServiceExecutable.Silo"/>), on a given port (to restart a cluster node at the same address).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private ServiceProcess(Process process, Uri baseUri, string? apiKey, string dataDirectory, int port)
    {
        _process = process;
        BaseUri = baseUri;
        ApiKey = apiKey;
        DataDirectory = dataDirectory;
        Port = port;
    }

    public Uri BaseUri { get; }

    /// <summary>The loopback port the process listens on.</summary>
    public int Port { get; }

    /// <summary>True once the process has ended (crashed, killed, stopped by itself, or disposed).</summary>
    public bool HasExited => _disposed || _process.HasExited;

    /// <summary>The exit code once the process has ended (not after dispose).</summary>
    public int ExitCode => _process.ExitCode;

    public string? ApiKey { get; }

    public string DataDirectory { get; }

    public int ProcessId => _process.Id;

    /// <summary>What the service printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the service and waits until <c>/health</c> answers (see <see cref="ServiceStartOptions"/> for other executables and ports).</summary>
    public static async Task<ServiceProcess> StartAsync(
        IReadOnlyDictionary<string, string> environment, string? apiKey, string dataDirectory, IEnumerable<string>? extraArguments = null,
        ServiceStartOptions? options = null)
    {
        options ??= new ServiceStartOptions();
        var port = options.Port ?? FreePort();
        var baseUri = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        start.ArgumentList.Add(options.Executable == ServiceExecutable.Silo ? SiloAssemblyPath() : ApiAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseUri.ToString().TrimEnd('/'));
        start.ArgumentList.Add("--Storage:DataDirectory");
        start.ArgumentList.Add(Path.Combine(dataDirectory, "data"));
        foreach (var argument in extraArguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["PROXY_API_KEY"] = apiKey ?? "";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var service = new ServiceProcess(process, baseUri, apiKey, dataDirectory, port);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < options.StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {process.ExitCode} while starting:\n{service.Output}");
            }

            try
            {
                using var response = await http.GetAsync("health");
                if (response.IsSuccessStatusCode && (!options.RequireHealthOk || await IsHealthOkAsync(response)))
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await service.DisposeAsync();
        throw new TimeoutException($"The service did not answer /health{(options.RequireHealthOk ? " with status ok" : "")} within {options.StartTimeout}:\n{service.Output}");
    }

    private static async Task<bool> IsHealthOkAsync(HttpResponseMessage response)
    {
        try
        {
            using var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return health.RootElement.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String && status.GetString() == "ok";
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The official OpenAI .NET SDK pointed at this service.</summary>
    public OpenAIClient CreateOpenAiClient(string? apiKey = null) =>
        new(new ApiKeyCredential(apiKey ?? ApiKey ?? "unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseUri, "v1"),
            NetworkTimeout = TimeSpan.FromSeconds(120),
        });

    public HttpClient CreateHttpClient(string? apiKey = null)
    {
        var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(120) };
        if ((apiKey ?? ApiKey) is { } key)
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return http;
    }

    /// <summary>Every process under the service (CLIs and whatever they started), from /proc.</summary>
    public IReadOnlyList<ProcessTree.Entry> Descendants() => HasExited ? [] : ProcessTree.Descendants(_process.Id);

    /// <summary>Sends a signal to the service process only (e.g. 19 SIGSTOP, 18 SIGCONT); its CLI children are not signalled.</summary>
    public void Signal(int signal) => ProcessTree.Signal(_process.Id, signal);

    /// <summary>
    /// <c>kill -9</c> of the service and of every process under it (a bare kill -9 would leave the CLIs running as orphans), then
    /// waits until the service is gone. The tree is frozen first so nothing new is started while it is collected.
    /// </summary>
    public async Task KillTreeAsync()
    {
        if (HasExited)
        {
            return;
        }

        ProcessTree.Signal(_process.Id, 19);
        var tree = ProcessTree.Descendants(_process.Id);
        ProcessTree.Signal(_process.Id, 9);
        foreach (var child in tree)
        {
            ProcessTree.Signal(child.Pid, 9);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>Waits for the process to end by itself; false when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The CLI processes (codex, claude) currently running under the service.</summary>
    public IReadOnlyList<int> CliProcesses() => ProcessTree.Descendants(_process.Id)
        .Where(p => p.Name is "codex" or "claude" or "claude.exe")
        .Select(p => p.Pid)
        .ToList();

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            // A graceful stop first (SIGTERM), so the service can end its CLIs; then make sure. SIGCONT in case a test paused it.
            ProcessTree.Signal(_process.Id, 15);
            ProcessTree.Signal(_process.Id, 18);
            using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(graceful.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The Api built next to this test run (same configuration), wherever the build put it.</summary>
    private static string ApiAssemblyPath() => BuiltAssemblyPath("Api", "OrleansCodex.Api.dll");

    /// <summary>The Silo executable built next to this test run (the Api references it, so building the Api builds it).</summary>
    private static string SiloAssemblyPath() => BuiltAssemblyPath("Silo", "OrleansCodex.Silo.dll");

    private static string BuiltAssemblyPath(string project, string fileName)
    {
        var configuration = typeof(ServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        // The artifacts layout (--artifacts-path) first: it is the one this test run built; the project's bin may hold an older build.
        var candidates = new[]
        {
            Path.Combine(AppContext.BaseDirectory, "..", "..", project, configuration.ToLowerInvariant(), fileName),
            Path.Combine(CliInstallation.RepoRoot, project, "bin", configuration, "net10.0", fileName),
        };
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"The {project} was not built; looked for {string.Join(", ", candidates)}. Run `dotnet build OrleansCodex.sln -c {configuration}`.");
    }
}

/// <summary>Reads the process tree from /proc (Linux), to prove that no CLI process outlives its turn.</summary>
public static class ProcessTree
{
    public sealed record Entry(int Pid, int ParentPid, string Name);

    public static IReadOnlyList<Entry> Descendants(int rootPid)
    {
        var all = new List<Entry>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var name = stat[(open + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                if (fields[0] != "Z")
                {
                    all.Add(new Entry(pid, int.Parse(fields[1]), name));
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        var result = new List<Entry>();
        var parents = new HashSet<int> { rootPid };
        bool added;
        do
        {
            added = false;
            foreach (var entry in all)
            {
                if (parents.Contains(entry.ParentPid) && parents.Add(entry.Pid))
                {
                    result.Add(entry);
                    added = true;
                }
            }
        }
        while (added);

        return result;
    }

    public static void Signal(int pid, int signal) => kill(pid, signal);

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0] != "Z";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Live processes (not zombies) whose environment holds <paramref name="entry"/> (<c>NAME=value</c>), e.g. every service and CLI
    /// started with one test environment's <c>CODEX_HOME</c>, wherever they were reparented to.
    /// </summary>
    public static IReadOnlyList<Entry> WithEnvironmentEntry(string entry)
    {
        var result = new List<Entry>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environ = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(directory, "environ")));
                if (!environ.Split('\0').Contains(entry, StringComparer.Ordinal))
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                if (fields[0] != "Z")
                {
                    result.Add(new Entry(pid, int.Parse(fields[1]), stat[(stat.IndexOf('(') + 1)..close]));
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
