using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using OpenAI;
using OrleansCodex.Testing.Cli;

namespace OrleansCodex.Testing.Service;

/// <summary>
/// The service as a user runs it: <c>dotnet OrleansCodex.Api.dll --urls http://127.0.0.1:PORT</c> in its own process, with the CLIs'
/// environment (CODEX_HOME, ANTHROPIC_BASE_URL…) inherited from the server's, exactly as in production.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseUri, string? apiKey, string dataDirectory)
    {
        _process = process;
        BaseUri = baseUri;
        ApiKey = apiKey;
        DataDirectory = dataDirectory;
    }

    public Uri BaseUri { get; }

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

    /// <summary>Starts the service and waits until <c>/health</c> answers.</summary>
    public static async Task<ServiceProcess> StartAsync(
        IReadOnlyDictionary<string, string> environment, string? apiKey, string dataDirectory, IEnumerable<string>? extraArguments = null)
    {
        var port = FreePort();
        var baseUri = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        start.ArgumentList.Add(ApiAssemblyPath());
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
        var service = new ServiceProcess(process, baseUri, apiKey, dataDirectory);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {process.ExitCode} while starting:\n{service.Output}");
            }

            try
            {
                using var response = await http.GetAsync("health");
                if (response.IsSuccessStatusCode)
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
        throw new TimeoutException($"The service did not answer /health within {StartTimeout}:\n{service.Output}");
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

    /// <summary>The CLI processes (codex, claude) currently running under the service.</summary>
    public IReadOnlyList<int> CliProcesses() => ProcessTree.Descendants(_process.Id)
        .Where(p => p.Name is "codex" or "claude" or "claude.exe")
        .Select(p => p.Pid)
        .ToList();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A graceful stop first (SIGTERM), so the service can end its CLIs; then make sure.
            ProcessTree.Signal(_process.Id, 15);
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
    private static string ApiAssemblyPath()
    {
        const string fileName = "OrleansCodex.Api.dll";
        var configuration = typeof(ServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var candidates = new[]
        {
            Path.Combine(CliInstallation.RepoRoot, "Api", "bin", configuration, "net10.0", fileName),
            Path.Combine(AppContext.BaseDirectory, "..", "..", "Api", configuration.ToLowerInvariant(), fileName),
        };
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"The Api was not built; looked for {string.Join(", ", candidates)}. Run `dotnet build OrleansCodex.sln -c {configuration}`.");
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

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
