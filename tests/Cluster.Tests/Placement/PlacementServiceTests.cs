using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Placement;
using OrleansCodex.Cluster.Runtime;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Placement;

public sealed class PlacementServiceTests
{
    private static readonly NodeAddress NodeA = new("node-a", 1);
    private static readonly NodeAddress NodeB = new("node-b", 1);
    private static readonly NodeAddress NodeC = new("node-c", 1);
    private static readonly GrainId Grain = new("test", "key");

    [Fact]
    public void Choose_PreferLocalAndCallerEligible_TakesCaller()
    {
        var placement = Placement(Member(NodeA, load: 0.5), Member(NodeB, load: 0));

        var chosen = placement.Choose(Class<PreferLocalGrain>(), Grain, NodeA);

        Assert.Equal(NodeA, chosen.Address);
    }

    [Fact]
    public void Choose_PreferLocalButCallerSaturated_TakesLeastLoaded()
    {
        var placement = Placement(Member(NodeA, load: 1.0), Member(NodeB, load: 0.7), Member(NodeC, load: 0.2));

        var chosen = placement.Choose(Class<PreferLocalGrain>(), Grain, NodeA);

        Assert.Equal(NodeC, chosen.Address);
    }

    [Fact]
    public void Choose_PreferLocalFromPureClient_TakesLeastLoaded()
    {
        var placement = Placement(Member(NodeA, load: 0.4), Member(NodeB, load: 0.1));

        var chosen = placement.Choose(Class<PreferLocalGrain>(), Grain, self: null);

        Assert.Equal(NodeB, chosen.Address);
    }

    [Fact]
    public void Choose_OnlyActiveNodesAreEligible()
    {
        var placement = Placement(
            Member(NodeA, status: NodeStatus.ShuttingDown), Member(NodeB, status: NodeStatus.Joining), Member(NodeC), Member(new("node-d", 1), status: NodeStatus.Dead));

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(NodeC, placement.Choose(Class<RandomGrain>(), Grain, NodeA).Address);
            Assert.Equal(NodeC, placement.Choose(Class<PreferLocalGrain>(), Grain, NodeA).Address);
        }
    }

    [Fact]
    public void Choose_RandomPlacement_SpreadsOverEligibleNodes()
    {
        var placement = Placement(Member(NodeA), Member(NodeB), Member(NodeC));

        var chosen = Enumerable.Range(0, 300).Select(_ => placement.Choose(Class<RandomGrain>(), Grain, NodeA).Address).ToHashSet();

        Assert.Equal([NodeA, NodeB, NodeC], chosen.OrderBy(a => a.NodeId));
    }

    [Fact]
    public void Choose_FilterWithRequestContextValue_OnlyNodesWhoseMetadataListsIt()
    {
        var placement = Placement(Member(NodeA, providers: "codex"), Member(NodeB, providers: "codex, claude"), Member(NodeC));
        RequestContext.Set("provider", "claude");
        try
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(NodeB, placement.Choose(Class<FilteredGrain>(), Grain, NodeA).Address);
            }
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    [Fact]
    public void Choose_FilterWithoutRequestContextValue_EveryNodeEligible()
    {
        var placement = Placement(Member(NodeA, providers: "codex"), Member(NodeB, providers: "claude"));

        Assert.Equal(NodeA, placement.Choose(Class<FilteredGrain>(), Grain, NodeA).Address);
    }

    [Fact]
    public void Choose_NoNodeServesTheValue_ThrowsNamingTheMetadata()
    {
        var placement = Placement(Member(NodeA, providers: "codex"), Member(NodeB, providers: "codex"));
        RequestContext.Set("provider", "claude");
        try
        {
            var error = Assert.Throws<NoEligibleNodeException>(() => placement.Choose(Class<FilteredGrain>(), Grain, NodeA));

            Assert.Contains("None of the 2 active nodes declares providers containing 'claude'", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    [Fact]
    public void Choose_MembershipNotReadYet_Throws()
    {
        var placement = new PlacementService(new FixedMembership(null));

        Assert.Throws<NoEligibleNodeException>(() => placement.Choose(Class<RandomGrain>(), Grain, NodeA));
    }

    [Fact]
    public async Task RequestContext_FlowsIntoAsyncCallsAndStaysInItsFlow()
    {
        RequestContext.Set("provider", "codex");
        string? inner = null;
        await Task.Run(() => inner = RequestContext.Get("provider"));
        var other = await Task.Run(async () =>
        {
            RequestContext.Set("provider", "claude");
            await Task.Yield();
            return RequestContext.Get("provider");
        });

        Assert.Equal("codex", inner);
        Assert.Equal("claude", other);
        Assert.Equal("codex", RequestContext.Get("provider"));
        RequestContext.Remove("provider");
        Assert.Null(RequestContext.Get("provider"));
    }

    private static PlacementService Placement(params MembershipEntry[] members) =>
        new(new FixedMembership(new MembershipSnapshot(1, DateTimeOffset.UnixEpoch, members)));

    private static MembershipEntry Member(NodeAddress address, double load = 0, NodeStatus status = NodeStatus.Active, string? providers = null) =>
        new(address, $"http://{address.NodeId}:8080/", address.NodeId, status)
        {
            Load = load,
            Metadata = providers is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["providers"] = providers },
        };

    private static GrainClassInfo Class<T>() => new(typeof(T), typeof(T).Name.ToLowerInvariant());

    private sealed class FixedMembership(MembershipSnapshot? snapshot) : IMembershipView
    {
        public MembershipSnapshot? Snapshot => snapshot;

        public event EventHandler<MembershipSnapshot>? MembershipChanged { add { } remove { } }

        public Task RefreshAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
    }

    // Plain classes (not grains): placement only reads their attributes.
    private sealed class RandomGrain;

    [PreferLocalPlacement]
    private sealed class PreferLocalGrain;

    [PreferLocalPlacement]
    [MetadataPlacementFilter("provider", "providers")]
    private sealed class FilteredGrain;
}
