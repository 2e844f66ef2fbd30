using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace OrleansCodex.Testing.Postgres;

/// <summary>
/// One throw-away PostgreSQL server per test process, started on first use from the <c>initdb</c>/<c>pg_ctl</c> on PATH,
/// listening on a free loopback port, with fsync off (tests need speed, not durability). Stopped and deleted on dispose and
/// when the process exits. A missing binary or a failed start throws: tests that need PostgreSQL never skip silently.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly Lazy<Task<PostgresServer>> _shared = new(StartAsync);
    private static readonly TimeSpan _commandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _directory;
    private readonly string? _runAs;
    private int _stopped;

    private PostgresServer(string directory, string? runAs, int port)
    {
        _directory = directory;
        _runAs = runAs;
        Port = port;
        AdminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
        }.ConnectionString;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
    }

    public int Port { get; }

    /// <summary>Connects to the <c>postgres</c> database as superuser.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The server shared by every test of this process; started by the first caller.</summary>
    public static Task<PostgresServer> GetSharedAsync() => _shared.Value;

    /// <summary>Creates an empty database and returns a connection string to it, so that each test class gets its own schema.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        name ??= $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var initdb = FindOnPath("initdb");
        var pgCtl = FindOnPath("pg_ctl");
        // initdb refuses to run as root: then the server runs as 'nobody' in a directory it owns.
        var runAs = Environment.UserName == "root" ? "nobody" : null;
        var directory = Path.Combine(Path.GetTempPath(), $"orleanscodex-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        if (runAs is not null)
        {
            await RunAsync(null, "chown", [runAs, directory]);
        }

        var port = GetFreePort();
        var server = new PostgresServer(directory, runAs, port);
        try
        {
            var data = Path.Combine(directory, "data");
            await RunAsync(runAs, initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
            await RunAsync(runAs, pgCtl,
            [
                "-D", data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60",
                "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                "start",
            ]);
            StartWatchdog(runAs, pgCtl, directory);
            return server;
        }
        catch
        {
            server.Stop();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        try
        {
            var data = Path.Combine(_directory, "data");
            if (Directory.Exists(data))
            {
                // Synchronous on purpose: this also runs from ProcessExit, where nothing asynchronous gets to finish.
                RunAsync(_runAs, FindOnPath("pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).GetAwaiter().GetResult();
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Stopping the test PostgreSQL in {_directory} failed: {ex.Message}");
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// The test runner may kill the test process right after the last test (ProcessExit then gets no time to finish) or the
    /// process may crash: a detached shell waits for this process to end and then stops the server and removes its files.
    /// </summary>
    private static void StartWatchdog(string? runAs, string pgCtl, string directory)
    {
        var asUser = runAs is null ? "" : $"runuser -u {runAs} -- ";
        var script =
            $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; " +
            $"{asUser}'{pgCtl}' -D '{directory}/data' -m immediate -w stop >/dev/null 2>&1; rm -rf '{directory}'";
        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        foreach (var argument in new[] { "sh", "-c", script })
        {
            start.ArgumentList.Add(argument);
        }

        using var watchdog = Process.Start(start) ?? throw new InvalidOperationException("Could not start the PostgreSQL clean-up watchdog.");
    }

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' is not on PATH. Tests need the PostgreSQL server binaries (initdb, pg_ctl, postgres); install them (e.g. apt-get install postgresql) and retry.");
    }

    private static async Task RunAsync(string? runAs, string fileName, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(runAs is null ? fileName : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (runAs is not null)
        {
            foreach (var argument in new[] { "-u", runAs, "--", fileName })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(_commandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {_commandTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
