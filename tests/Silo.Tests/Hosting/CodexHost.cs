using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>
/// A silo or a pure client wired exactly as the service wires it (<see cref="SiloHostingExtensions.AddOrleansCodexSilo"/>,
/// <see cref="SiloHostingExtensions.AddOrleansCodexClient"/>) from in-memory settings, started and stopped within bounds.
/// No default configuration sources: the machine's environment must not change what a test sees.
/// </summary>
public sealed class CodexHost : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _startAttempted;
    private bool _started;

    private CodexHost(IHost host, RecordingLoggerProvider logs)
    {
        _host = host;
        Logs = logs;
    }

    public IServiceProvider Services => _host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public RecordingLoggerProvider Logs { get; }

    /// <summary>Builds (not starts) a silo host; settings a CLI-less test node needs are added unless given.</summary>
    public static CodexHost CreateSilo(IReadOnlyDictionary<string, string?> settings) => Create(settings, b =>
    {
        b.AddOrleansCodexSilo();
        // The service's handler ends the process (Environment.FailFast) when the cluster declares the silo dead: here that would
        // be the test runner. Registered last, this one wins; the silo still stops, and the test fails on what follows.
        b.Services.AddSingleton<IFatalErrorHandler, RecordingFatalErrorHandler>();
    });

    /// <summary>Builds (not starts) a pure client host.</summary>
    public static CodexHost CreateClient(IReadOnlyDictionary<string, string?> settings) => Create(settings, b => b.AddOrleansCodexClient());

    public static async Task<CodexHost> StartSiloAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var host = CreateSilo(settings);
        await host.StartAsync(TestTimeouts.Wait);
        return host;
    }

    public async Task StartAsync(TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        _startAttempted = true;
        await _host.StartAsync(timeout.Token);
        _started = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_startAttempted)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Wait);
            try
            {
                await _host.StopAsync(timeout.Token);
            }
            catch (Exception) when (!_started)
            {
                // A host whose start failed (invalid settings, a refused client) may not stop cleanly; its start already failed the test or was expected to.
            }
        }

        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }

    private static CodexHost Create(IReadOnlyDictionary<string, string?> settings, Action<HostApplicationBuilder> add)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            // No CLI is started at start-up: these tests are about the silo, not the CLIs.
            ["Workers:Prewarm"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Development });
        builder.Configuration.AddInMemoryCollection(all);
        var logs = new RecordingLoggerProvider();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Information).AddProvider(logs);
        add(builder);
        return new CodexHost(builder.Build(), logs);
    }
}

/// <summary>Records a silo's fatal errors instead of ending the test process.</summary>
internal sealed class RecordingFatalErrorHandler : IFatalErrorHandler
{
    public bool IsUnexpected(Exception exception) => exception is not ThreadInterruptedException;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null) =>
        Console.Error.WriteLine($"Fatal error in a test silo from {sender} ({context}): {exception}");
}
