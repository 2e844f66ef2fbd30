using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>
/// Starts this node's Claude spares (<see cref="ClaudeSpares"/>) when the node starts (<c>Workers:Prewarm</c>, only when the node
/// serves Claude in <see cref="ClaudeMode.Stream"/>), so that even the first new conversation skips Claude's start. It does not
/// wait for them: a Claude that cannot be started is logged, and new sessions start their own processes.
/// </summary>
public sealed class ClaudeSparesPrewarmer(
    ClaudeSpares spares,
    IOptions<WorkerOptions> workerOptions,
    IOptions<CliOptions> cliOptions,
    ServedProviders servedProviders) : IHostedService
{
    /// <summary>Whether this node starts spares with the node.</summary>
    public bool Enabled => workerOptions.Value.Prewarm && workerOptions.Value.ClaudeSpares > 0
        && servedProviders.Serves(CliProvider.Claude) && cliOptions.Value.ClaudeMode == ClaudeMode.Stream;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            _ = spares.FillAsync();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
