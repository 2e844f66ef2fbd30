using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.ClaudeStream;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>A <see cref="ClaudeStreamRunner"/> with its own process pool, pointed at the fixture's stub. Disposing ends its processes.</summary>
internal sealed class ClaudeStreamHarness : IAsyncDisposable
{
    public ClaudeStreamHarness(CliFixture fixture, Action<CliOptions>? configure = null, WorkerOptions? workers = null)
    {
        var loggers = fixture.LoggerFactory();
        var cli = new FixedOptionsMonitor<CliOptions>(fixture.Options(configure));
        Pool = new ClaudeProcessPool(new FixedOptionsMonitor<WorkerOptions>(workers ?? new WorkerOptions()), loggers.CreateLogger<ClaudeProcessPool>(), TimeProvider.System);
        var print = new ClaudePrintRunner(cli, loggers.CreateLogger<ClaudePrintRunner>(), TimeProvider.System);
        Runner = new ClaudeStreamRunner(Pool, print, cli, loggers.CreateLogger<ClaudeStreamRunner>(), TimeProvider.System);
    }

    public ClaudeProcessPool Pool { get; }

    public ClaudeStreamRunner Runner { get; }

    public ValueTask DisposeAsync() => Pool.DisposeAsync();
}
