using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Placement;
using static OrleansCodex.Silo.Tests.Clustering.SharedClusterFixture;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>
/// A new conversation goes only to a silo that serves its provider (silo metadata <c>providers</c>, <c>Cluster:Providers</c>), named by
/// the caller in <c>RequestContext["provider"]</c>; among those, the silo the call arrived at when it can take it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ProviderPlacementTests(SharedClusterFixture fixture)
{
    private readonly PlacementCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task NewGrain_ClaudeRequestedFromACodexOnlySilo_LandsOnlyOnSilosServingClaude()
    {
        var placed = new List<string>();

        using (Provider("claude"))
        {
            for (var i = 0; i < 8; i++)
            {
                placed.Add((await _cluster.GrainsOn(CodexOnly).GetGrain<IPlacedGrain>($"claude-{i}-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo);
            }
        }

        Assert.All(placed, silo => Assert.Contains(silo, new[] { PlacementCluster.Name(ClaudeOnly), PlacementCluster.Name(Both) }));
    }

    [Fact]
    public async Task NewGrain_CodexRequestedFromAClaudeOnlySilo_LandsOnlyOnSilosServingCodex()
    {
        var placed = new List<string>();

        using (Provider("codex"))
        {
            for (var i = 0; i < 8; i++)
            {
                placed.Add((await _cluster.GrainsOn(ClaudeOnly).GetGrain<IPlacedGrain>($"codex-{i}-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo);
            }
        }

        Assert.All(placed, silo => Assert.Contains(silo, new[] { PlacementCluster.Name(CodexOnly), PlacementCluster.Name(Both) }));
    }

    [Fact]
    public async Task NewGrain_ClaudeRequestedFromSilosServingIt_StaysOnTheReceivingSilo()
    {
        using (Provider("claude"))
        {
            var atBoth = await _cluster.GrainsOn(Both).GetGrain<IPlacedGrain>($"claude-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait);
            var atClaude = await _cluster.GrainsOn(ClaudeOnly).GetGrain<IPlacedGrain>($"claude-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait);

            Assert.Equal(PlacementCluster.Name(Both), atBoth.Silo);
            Assert.Equal(PlacementCluster.Name(ClaudeOnly), atClaude.Silo);
        }
    }

    [Fact]
    public async Task NewGrain_NoProviderRequested_StaysOnTheReceivingSilo()
    {
        var placed = await _cluster.GrainsOn(CodexOnly).GetGrain<IPlacedGrain>($"any-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait);

        Assert.Equal(PlacementCluster.Name(CodexOnly), placed.Silo);
    }

    [Fact]
    public async Task ExistingGrain_CalledWithAnotherProvider_StaysWhereItIs()
    {
        var key = $"placed-once-{Guid.NewGuid():N}";
        CallRecord first;
        using (Provider("codex"))
        {
            first = await _cluster.GrainsOn(CodexOnly).GetGrain<IPlacedGrain>(key).WhereAmI().WaitAsync(TestTimeouts.Wait);
        }

        CallRecord again;
        using (Provider("claude"))
        {
            // Placement decides once, for a new activation; later calls go to it.
            again = await _cluster.GrainsOn(ClaudeOnly).GetGrain<IPlacedGrain>(key).WhereAmI().WaitAsync(TestTimeouts.Wait);
        }

        Assert.Equal(PlacementCluster.Name(CodexOnly), first.Silo);
        Assert.Equal((first.Silo, first.Activation), (again.Silo, again.Activation));
    }

    [Fact]
    public async Task NewGrain_NoSiloServesTheProvider_CallerGetsProviderUnavailable()
    {
        await using var codexOnly = await PlacementCluster.StartAsync("codex", "codex");

        ProviderUnavailableException fromClient, fromSilo;
        using (Provider("claude"))
        {
            fromClient = await Assert.ThrowsAsync<ProviderUnavailableException>(
                () => codexOnly.Client.GetGrain<IPlacedGrain>($"claude-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait));
            fromSilo = await Assert.ThrowsAsync<ProviderUnavailableException>(
                () => codexOnly.GrainsOn(0).GetGrain<IPlacedGrain>($"claude-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait));
        }

        Assert.Equal(("claude", "claude"), (fromClient.Provider, fromSilo.Provider));
        Assert.Contains("claude", fromClient.Message);
        // The refusal left the cluster usable: the same call naming a served provider works.
        using (Provider("codex"))
        {
            Assert.StartsWith("Silo_", (await codexOnly.Client.GetGrain<IPlacedGrain>($"codex-{Guid.NewGuid():N}").WhereAmI().WaitAsync(TestTimeouts.Wait)).Silo);
        }
    }

    /// <summary>Sets the provider the way the front end does before calling a conversation; cleared on dispose.</summary>
    private static IDisposable Provider(string provider)
    {
        RequestContext.Set(ModelRouting.ProviderRequestContextKey, provider);
        return new ClearRequestContext();
    }

    private sealed class ClearRequestContext : IDisposable
    {
        public void Dispose() => RequestContext.Clear();
    }
}
