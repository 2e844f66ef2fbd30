using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>Provider status the test decides: both available unless told otherwise.</summary>
public sealed class FakeProviderStatus : IProviderStatusService
{
    public Dictionary<CliProvider, ProviderStatus> Statuses { get; } = new()
    {
        [CliProvider.Codex] = new(CliProvider.Codex, true, null, "codex-cli 0.169.0", "/usr/bin/codex"),
        [CliProvider.Claude] = new(CliProvider.Claude, true, null, "2.1.197 (Claude Code)", "/usr/bin/claude"),
    };

    public void MakeUnavailable(CliProvider provider, string message) => Statuses[provider] = new(provider, false, message, null, null);

    public ValueTask<ProviderStatus> GetStatusAsync(CliProvider provider, CancellationToken cancellationToken = default) => ValueTask.FromResult(Statuses[provider]);

    public ValueTask<IReadOnlyList<ProviderStatus>> GetStatusesAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<ProviderStatus>>(Statuses.Values.ToList());
}
