using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Grains.Workers;

/// <summary>
/// Owns one CLI slot of this node. Turn-based execution means it runs one CLI process at a time; the pool that hands out its key
/// keeps conversations from queueing behind each other.
/// </summary>
[GrainType("cliworker")]
[LocalPlacement]
public sealed class CliWorkerGrain(IEnumerable<ICliRunner> runners) : Grain, ICliWorkerGrain
{
    public IAsyncEnumerable<TurnEvent> RunTurn(CliTurn turn, CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        if (!key.StartsWith(turn.Provider.ToString().ToLowerInvariant() + "-", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Worker '{key}' does not run {turn.Provider} turns.", nameof(turn));
        }

        var runner = runners.FirstOrDefault(r => r.Provider == turn.Provider)
            ?? throw new InvalidOperationException($"No CLI runner is registered for {turn.Provider}.");
        return runner.RunAsync(turn, cancellationToken);
    }
}
