using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>Runs one turn of one provider's CLI as a fresh process (<c>codex exec</c> / <c>claude -p</c>). One singleton per provider.</summary>
public interface ICliRunner
{
    CliProvider Provider { get; }

    /// <summary>
    /// Streams <see cref="TurnEventKind.SessionStarted"/>, <see cref="TurnEventKind.TextDelta"/>s, then exactly one
    /// <see cref="TurnEventKind.Completed"/> or <see cref="TurnEventKind.Failed"/>. CLI and upstream failures, a missing CLI and the
    /// turn's deadline (<see cref="CliTurn.Timeout"/>) end in <see cref="TurnEventKind.Failed"/>; cancellation kills the process tree
    /// and then throws <see cref="OperationCanceledException"/>. An invalid <paramref name="turn"/> (bad model name, non-UUID
    /// session id, relative directory, empty prompt) throws <see cref="ArgumentException"/>: it is a bug of the caller.
    /// </summary>
    IAsyncEnumerable<TurnEvent> RunAsync(CliTurn turn, CancellationToken cancellationToken);

    /// <summary>Whether the CLI is installed and logged in, and its version. Never throws for a broken CLI.</summary>
    Task<ProviderStatus> CheckAsync(CancellationToken cancellationToken);
}
