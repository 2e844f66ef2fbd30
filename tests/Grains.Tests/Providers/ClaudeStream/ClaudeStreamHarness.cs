using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>
/// A <see cref="ClaudeStreamRunner"/> with its own process pool and spares (under the fixture's work root, where
/// <see cref="CliFixture.ClaudeTurn"/> makes its directories), pointed at the fixture's stub. Disposing ends its processes.
/// </summary>
internal sealed class ClaudeStreamHarness : IAsyncDisposable
{
    public ClaudeStreamHarness(CliFixture fixture, Action<CliOptions>? configure = null, WorkerOptions? workers = null)
    {
        var loggers = fixture.LoggerFactory();
        var cli = new FixedOptionsMonitor<CliOptions>(fixture.Options(configure));
        var workerOptions = new FixedOptionsMonitor<WorkerOptions>(workers ?? new WorkerOptions());
        WorkRoot = Path.Combine(fixture.Environment.RootDirectory, "work");
        Pool = new ClaudeProcessPool(workerOptions, loggers.CreateLogger<ClaudeProcessPool>(), TimeProvider.System);
        var print = new ClaudePrintRunner(cli, loggers.CreateLogger<ClaudePrintRunner>(), TimeProvider.System);
        Spares = new ClaudeSpares(cli, workerOptions, Options.Create(new ConversationOptions { WorkDirectory = WorkRoot }), print,
            loggers.CreateLogger<ClaudeSpares>(), TimeProvider.System);
        Runner = new ClaudeStreamRunner(Pool, Spares, print, cli, loggers.CreateLogger<ClaudeStreamRunner>(), TimeProvider.System);
    }

    public string WorkRoot { get; }

    public ClaudeProcessPool Pool { get; }

    public ClaudeSpares Spares { get; }

    public ClaudeStreamRunner Runner { get; }

    public async ValueTask DisposeAsync()
    {
        await Spares.DisposeAsync();
        await Pool.DisposeAsync();
    }
}
