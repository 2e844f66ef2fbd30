using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>The CLIs' model catalogs as the test decides: none could be read unless told otherwise (the server uses its built-in lists).</summary>
public sealed class FakeModelCatalog : ICliModelCatalog
{
    public Dictionary<CliProvider, IReadOnlyList<string>?> Models { get; } = new() { [CliProvider.Codex] = null, [CliProvider.Claude] = null };

    public Task<CliModels> GetModelsAsync(CliProvider provider, CancellationToken cancellationToken) =>
        Task.FromResult(new CliModels(provider, Models[provider], Models[provider] is null ? "not asked in HTTP-layer tests" : null));
}
