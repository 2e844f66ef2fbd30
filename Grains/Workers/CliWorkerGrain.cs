using Microsoft.Extensions.Options;
using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// Owns one CLI slot of this node. Turn-based execution means it runs one CLI process at a time; the pool that hands out its key
/// keeps conversations from queueing behind each other. Under <c>Cli:LocalOnly</c> a turn whose CLI would talk to a model server
/// elsewhere is refused here, before any process is started or reused (<see cref="LocalOnlyPolicy"/>).
/// </summary>
[GrainType("cliworker")]
[LocalPlacement]
public sealed class CliWorkerGrain(IEnumerable<ICliRunner> runners, IOptionsMonitor<CliOptions> options) : Grain, ICliWorkerGrain
{
    public IAsyncEnumerable<TurnEvent> RunTurn(CliTurn turn, CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        if (!key.StartsWith(turn.Provider.ToString().ToLowerInvariant() + "-", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Worker '{key}' does not run {turn.Provider} turns.", nameof(turn));
        }

        if (LocalOnlyPolicy.Check(turn.Provider, options.CurrentValue) is { } notLocal)
        {
            return new[] { TurnEvent.Fail(notLocal) }.ToAsyncEnumerable();
        }

        var runner = runners.FirstOrDefault(r => r.Provider == turn.Provider)
            ?? throw new InvalidOperationException($"No CLI runner is registered for {turn.Provider}.");
        return runner.RunAsync(turn, cancellationToken);
    }
}
