using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>Whether this node can run a provider's CLI, and if not, what the operator should do.</summary>
/// <param name="Message">Null when available; otherwise what is wrong and how to fix it (install it, run <c>codex login</c> / <c>claude</c>).</param>
public sealed record ProviderStatus(CliProvider Provider, bool Available, string? Message, string? Version, string? ExecutablePath);

/// <summary>The node's view of its CLIs, checked at start-up and refreshed periodically.</summary>
public interface IProviderStatusService
{
    ValueTask<ProviderStatus> GetStatusAsync(CliProvider provider, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<ProviderStatus>> GetStatusesAsync(CancellationToken cancellationToken = default);
}
