using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Tests.Membership;
using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.GrainDirectory;

public sealed class CachedGrainDirectoryTests
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private readonly InMemoryMembershipTestKit _kit = new();
    private readonly CountingDirectory _inner;

    public CachedGrainDirectoryTests() => _inner = new CountingDirectory(new InMemoryGrainDirectory(_kit.InMemoryTable));

    private CachedGrainDirectory NewCache(int size = 100) =>
        new(_inner, Options.Create(new GrainDirectoryOptions { DirectoryCacheSize = size }));

    private static GrainDirectoryEntry Entry(NodeAddress node, string key) =>
        new(new GrainId("conversation", key), node, $"http://{node.NodeId}:5000", $"act-{key}");

    [Fact]
    public async Task Lookup_Repeated_IsServedFromCache()
    {
        var cache = NewCache();
        var a = await _kit.AddMemberAsync("a");
        var entry = await _inner.RegisterAsync(Entry(a, "k"));

        var first = await cache.LookupAsync(entry.GrainId);
        var second = await cache.LookupAsync(entry.GrainId);

        Assert.Equal(entry, first);
        Assert.Equal(entry, second);
        Assert.Equal(1, _inner.Lookups);
    }

    [Fact]
    public async Task Lookup_Miss_IsNotCached()
    {
        var cache = NewCache();
        var grainId = new GrainId("conversation", "nobody");

        await cache.LookupAsync(grainId);
        await cache.LookupAsync(grainId);

        Assert.Equal(2, _inner.Lookups);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Register_Lost_CachesTheWinner()
    {
        var cache = NewCache();
        var a = await _kit.AddMemberAsync("a");
        var b = await _kit.AddMemberAsync("b");
        var winner = await _inner.RegisterAsync(Entry(a, "k"));

        var registered = await cache.RegisterAsync(Entry(b, "k") with { ActivationId = "act-b" });
        var found = await cache.LookupAsync(winner.GrainId);

        Assert.Equal(winner, registered);
        Assert.Equal(winner, found);
        Assert.Equal(0, _inner.Lookups);
    }

    [Fact]
    public async Task OnMembershipChanged_NodeDead_DropsOnlyItsEntries()
    {
        var cache = NewCache();
        var dead = await _kit.AddMemberAsync("dead");
        var live = await _kit.AddMemberAsync("live");
        var deadEntry = await cache.RegisterAsync(Entry(dead, "on-dead"));
        var liveEntry = await cache.RegisterAsync(Entry(live, "on-live"));
        await _kit.DeclareDeadAsync(dead);

        cache.OnMembershipChanged(await _kit.Table.ReadAllAsync());

        Assert.Equal(1, cache.Count);
        Assert.Null(await cache.LookupAsync(deadEntry.GrainId));
        Assert.Equal(liveEntry, await cache.LookupAsync(liveEntry.GrainId));
        Assert.Equal(1, _inner.Lookups);
    }

    [Fact]
    public async Task MembershipAgent_PeerDeclaredDead_CacheDropsItsEntriesOnNextRefresh()
    {
        var cache = NewCache();
        await using var agent = new MembershipAgent(_kit.Table, new NodeIdentity("self", "http://self:5000", "host"), _kit.Options(),
            new ManualTimeProvider(), NullLogger<MembershipAgent>.Instance);
        agent.MembershipChanged += (_, snapshot) => cache.OnMembershipChanged(snapshot);
        await agent.JoinAsync().WaitAsync(_wait);
        var peer = await _kit.AddMemberAsync("peer");
        var onPeer = await cache.RegisterAsync(Entry(peer, "on-peer"));
        var onSelf = await cache.RegisterAsync(Entry(agent.Address, "on-self"));
        await _kit.DeclareDeadAsync(peer);

        await agent.RefreshAsync().WaitAsync(_wait);

        Assert.Equal(1, cache.Count);
        Assert.Null(await cache.LookupAsync(onPeer.GrainId));
        Assert.Equal(onSelf, await cache.LookupAsync(onSelf.GrainId));
    }

    [Fact]
    public async Task Put_OverCapacity_EvictsLeastRecentlyUsed()
    {
        var cache = NewCache(size: 2);
        var a = await _kit.AddMemberAsync("a");
        var first = await cache.RegisterAsync(Entry(a, "1"));
        var second = await cache.RegisterAsync(Entry(a, "2"));
        await cache.LookupAsync(first.GrainId); // first is now the most recently used

        await cache.RegisterAsync(Entry(a, "3"));
        await cache.LookupAsync(second.GrainId);

        Assert.Equal(2, cache.Count);
        Assert.Equal(1, _inner.Lookups); // only the evicted one went to the directory
    }

    [Fact]
    public async Task Invalidate_Grain_NextLookupGoesToDirectory()
    {
        var cache = NewCache();
        var a = await _kit.AddMemberAsync("a");
        var entry = await cache.RegisterAsync(Entry(a, "k"));

        cache.Invalidate(entry.GrainId);
        var found = await cache.LookupAsync(entry.GrainId);

        Assert.Equal(entry, found);
        Assert.Equal(1, _inner.Lookups);
    }

    [Fact]
    public async Task Unregister_OwnActivation_DropsCachedEntry()
    {
        var cache = NewCache();
        var a = await _kit.AddMemberAsync("a");
        var entry = await cache.RegisterAsync(Entry(a, "k"));

        Assert.True(await cache.UnregisterAsync(entry));

        Assert.Equal(0, cache.Count);
        Assert.Null(await cache.LookupAsync(entry.GrainId));
    }

    [Fact]
    public async Task RemoveEntriesOf_DeadNode_DropsItsCachedEntries()
    {
        var cache = NewCache();
        var dead = await _kit.AddMemberAsync("dead");
        await cache.RegisterAsync(Entry(dead, "k"));
        await _kit.DeclareDeadAsync(dead);

        Assert.Equal(1, await cache.RemoveEntriesOfAsync(dead));

        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Lookup_NodeInvalidatedWhileInFlight_DoesNotCacheStaleEntry()
    {
        var a = await _kit.AddMemberAsync("a");
        var entry = await _inner.RegisterAsync(Entry(a, "k"));
        var gate = new GatedDirectory(_inner);
        var cache = new CachedGrainDirectory(gate, Options.Create(new GrainDirectoryOptions()));

        var lookup = cache.LookupAsync(entry.GrainId);
        await gate.Entered.Task.WaitAsync(_wait);
        cache.InvalidateNode(a);
        gate.Release.SetResult();
        var found = await lookup.WaitAsync(_wait);

        Assert.Equal(entry, found);
        Assert.Equal(0, cache.Count);
    }

    private sealed class CountingDirectory(IGrainDirectory inner) : IGrainDirectory
    {
        private int _lookups;

        public int Lookups => Volatile.Read(ref _lookups);

        public Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default) =>
            inner.RegisterAsync(entry, cancellationToken);

        public Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _lookups);
            return inner.LookupAsync(grainId, cancellationToken);
        }

        public Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default) =>
            inner.UnregisterAsync(entry, cancellationToken);

        public Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default) =>
            inner.RemoveEntriesOfAsync(node, cancellationToken);
    }

    /// <summary>Holds every lookup until the test releases it, to interleave an invalidation with a lookup in flight.</summary>
    private sealed class GatedDirectory(IGrainDirectory inner) : IGrainDirectory
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default) =>
            inner.RegisterAsync(entry, cancellationToken);

        public async Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.ConfigureAwait(false);
            return await inner.LookupAsync(grainId, cancellationToken).ConfigureAwait(false);
        }

        public Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default) =>
            inner.UnregisterAsync(entry, cancellationToken);

        public Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default) =>
            inner.RemoveEntriesOfAsync(node, cancellationToken);
    }
}
