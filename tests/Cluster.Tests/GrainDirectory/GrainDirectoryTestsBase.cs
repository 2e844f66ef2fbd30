using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Tests.Membership;
using OrleansCodex.Testing.Postgres;
using Xunit;

namespace OrleansCodex.Cluster.Tests.GrainDirectory;

/// <summary>The grain directory contract, run against every implementation with its membership table.</summary>
public abstract class GrainDirectoryTestsBase : IAsyncLifetime
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(20);

    protected MembershipTestKit Kit { get; private set; } = null!;

    protected IGrainDirectory Directory { get; private set; } = null!;

    protected abstract Task<(MembershipTestKit Kit, IGrainDirectory Directory)> CreateAsync();

    public async Task InitializeAsync() => (Kit, Directory) = await CreateAsync();

    public async Task DisposeAsync() => await Kit.DisposeAsync();

    private static GrainId NewGrainId() => new("conversation", Guid.NewGuid().ToString("N"));

    private static GrainDirectoryEntry Entry(GrainId grainId, NodeAddress node, string activationId) =>
        new(grainId, node, $"http://{node.NodeId}.test:5000", activationId);

    [Fact]
    public async Task Register_FirstActivation_WinsAndIsFoundByLookup()
    {
        var node = await Kit.AddMemberAsync("a");
        var mine = Entry(NewGrainId(), node, "act-1");

        var registered = await Directory.RegisterAsync(mine);
        var found = await Directory.LookupAsync(mine.GrainId);

        Assert.Equal(mine, registered);
        Assert.Equal(mine, found);
    }

    [Fact]
    public async Task Lookup_UnknownGrain_ReturnsNull()
    {
        await Kit.AddMemberAsync("a");

        Assert.Null(await Directory.LookupAsync(NewGrainId()));
    }

    [Fact]
    public async Task Register_SecondActivationOnAnotherNode_ReturnsTheFirst()
    {
        var a = await Kit.AddMemberAsync("a");
        var b = await Kit.AddMemberAsync("b");
        var grainId = NewGrainId();
        var first = await Directory.RegisterAsync(Entry(grainId, a, "act-a"));

        var second = await Directory.RegisterAsync(Entry(grainId, b, "act-b"));

        Assert.Equal(first, second);
        Assert.Equal(first, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Register_SameActivationAgain_ReturnsItUnchanged()
    {
        var a = await Kit.AddMemberAsync("a");
        var mine = Entry(NewGrainId(), a, "act-1");
        await Directory.RegisterAsync(mine);

        Assert.Equal(mine, await Directory.RegisterAsync(mine));
    }

    [Fact]
    public async Task Register_HundredConcurrentFromThreeNodes_ExactlyOneWinnerSeenByAll()
    {
        var nodes = new[] { await Kit.AddMemberAsync("a"), await Kit.AddMemberAsync("b"), await Kit.AddMemberAsync("c") };
        var grainId = NewGrainId();
        var attempts = Enumerable.Range(0, 100).Select(i => Entry(grainId, nodes[i % 3], $"act-{i}")).ToList();

        var results = await Task.WhenAll(attempts.Select(entry => Task.Run(() => Directory.RegisterAsync(entry)))).WaitAsync(_wait);

        var winner = Assert.Single(results.Distinct());
        Assert.Single(attempts, entry => entry == winner);
        Assert.Equal(winner, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Unregister_OwnActivation_RemovesEntry()
    {
        var a = await Kit.AddMemberAsync("a");
        var mine = await Directory.RegisterAsync(Entry(NewGrainId(), a, "act-1"));

        var removed = await Directory.UnregisterAsync(mine);

        Assert.True(removed);
        Assert.Null(await Directory.LookupAsync(mine.GrainId));
    }

    [Fact]
    public async Task Unregister_StaleActivationId_LeavesNewerRegistration()
    {
        var a = await Kit.AddMemberAsync("a");
        var grainId = NewGrainId();
        var old = await Directory.RegisterAsync(Entry(grainId, a, "act-old"));
        await Directory.UnregisterAsync(old);
        var current = await Directory.RegisterAsync(Entry(grainId, a, "act-new"));

        var removed = await Directory.UnregisterAsync(old);

        Assert.False(removed);
        Assert.Equal(current, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Unregister_SameActivationIdFromAnotherNode_LeavesEntry()
    {
        // Activation ids only need to be unique per node incarnation, so the owner is part of the condition.
        var a = await Kit.AddMemberAsync("a");
        var b = await Kit.AddMemberAsync("b");
        var grainId = NewGrainId();
        var registered = await Directory.RegisterAsync(Entry(grainId, a, "act-7"));

        var removed = await Directory.UnregisterAsync(Entry(grainId, b, "act-7"));

        Assert.False(removed);
        Assert.Equal(registered, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Lookup_OwnerDeclaredDead_ReturnsNull()
    {
        var a = await Kit.AddMemberAsync("a");
        var grainId = NewGrainId();
        await Directory.RegisterAsync(Entry(grainId, a, "act-1"));

        await Kit.DeclareDeadAsync(a);

        Assert.Null(await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Register_OwnerDead_ReplacedByNextRegistration()
    {
        var a = await Kit.AddMemberAsync("a");
        var b = await Kit.AddMemberAsync("b");
        var grainId = NewGrainId();
        await Directory.RegisterAsync(Entry(grainId, a, "act-a"));
        await Kit.DeclareDeadAsync(a);
        var replacement = Entry(grainId, b, "act-b");

        var registered = await Directory.RegisterAsync(replacement);

        Assert.Equal(replacement, registered);
        Assert.Equal(replacement, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task Register_OwnerGoneFromMembership_ReplacedByNextRegistration()
    {
        var a = await Kit.AddMemberAsync("a");
        var b = await Kit.AddMemberAsync("b");
        var grainId = NewGrainId();
        await Directory.RegisterAsync(Entry(grainId, a, "act-a"));
        await Kit.DeclareDeadAsync(a);
        Assert.Equal(1, await Kit.Table.CleanupDefunctEntriesAsync(TimeSpan.Zero));
        var replacement = Entry(grainId, b, "act-b");

        var registered = await Directory.RegisterAsync(replacement);

        Assert.Equal(replacement, registered);
    }

    [Fact]
    public async Task Register_OwnerRestartedAsNewIncarnation_ReplacedByNextRegistration()
    {
        var old = await Kit.AddMemberAsync("a");
        var grainId = NewGrainId();
        await Directory.RegisterAsync(Entry(grainId, old, "act-1"));
        await Kit.DeclareDeadAsync(old);
        var restarted = await Kit.AddMemberAsync("a");
        var replacement = Entry(grainId, restarted, "act-1");

        var registered = await Directory.RegisterAsync(replacement);

        Assert.Equal(replacement, registered);
        Assert.Equal(restarted, (await Directory.LookupAsync(grainId))!.Node);
    }

    [Fact]
    public async Task Register_TwentyConcurrentReplacersOfDeadOwner_ExactlyOneWinsAndAllSeeIt()
    {
        var dead = await Kit.AddMemberAsync("dead");
        var nodes = new[] { await Kit.AddMemberAsync("b"), await Kit.AddMemberAsync("c") };
        var grainId = NewGrainId();
        await Directory.RegisterAsync(Entry(grainId, dead, "act-dead"));
        await Kit.DeclareDeadAsync(dead);
        var attempts = Enumerable.Range(0, 20).Select(i => Entry(grainId, nodes[i % 2], $"act-{i}")).ToList();

        var results = await Task.WhenAll(attempts.Select(entry => Task.Run(() => Directory.RegisterAsync(entry)))).WaitAsync(_wait);

        var winner = Assert.Single(results.Distinct());
        Assert.Contains(winner, attempts);
        Assert.Equal(winner, await Directory.LookupAsync(grainId));
    }

    [Fact]
    public async Task RemoveEntriesOf_DeadNode_RemovesOnlyItsEntries()
    {
        var dead = await Kit.AddMemberAsync("dead");
        var live = await Kit.AddMemberAsync("live");
        var deadGrains = Enumerable.Range(0, 3).Select(_ => NewGrainId()).ToList();
        var liveGrains = Enumerable.Range(0, 2).Select(_ => NewGrainId()).ToList();
        foreach (var grainId in deadGrains)
        {
            await Directory.RegisterAsync(Entry(grainId, dead, $"act-{grainId.Key}"));
        }

        foreach (var grainId in liveGrains)
        {
            await Directory.RegisterAsync(Entry(grainId, live, $"act-{grainId.Key}"));
        }

        await Kit.DeclareDeadAsync(dead);

        var removed = await Directory.RemoveEntriesOfAsync(dead);

        Assert.Equal(3, removed);
        foreach (var grainId in liveGrains)
        {
            Assert.Equal(live, (await Directory.LookupAsync(grainId))!.Node);
        }
    }

    [Fact]
    public async Task RemoveEntriesOf_LiveNode_RemovesNothing()
    {
        var live = await Kit.AddMemberAsync("live");
        var grainId = NewGrainId();
        var registered = await Directory.RegisterAsync(Entry(grainId, live, "act-1"));

        var removed = await Directory.RemoveEntriesOfAsync(live);

        Assert.Equal(0, removed);
        Assert.Equal(registered, await Directory.LookupAsync(grainId));
    }
}

public sealed class InMemoryGrainDirectoryTests : GrainDirectoryTestsBase
{
    protected override Task<(MembershipTestKit Kit, IGrainDirectory Directory)> CreateAsync()
    {
        var kit = new InMemoryMembershipTestKit();
        return Task.FromResult<(MembershipTestKit, IGrainDirectory)>((kit, new InMemoryGrainDirectory(kit.InMemoryTable)));
    }
}

public sealed class PostgresGrainDirectoryTests(PostgresDatabaseFixture postgres) : GrainDirectoryTestsBase, IClassFixture<PostgresDatabaseFixture>
{
    protected override async Task<(MembershipTestKit Kit, IGrainDirectory Directory)> CreateAsync()
    {
        var kit = await PostgresMembershipTestKit.CreateAsync(postgres.ConnectionString);
        return (kit, new PostgresGrainDirectory(kit.Database, kit.Options()));
    }
}
