using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Testing.Postgres;
using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>
/// The membership agent over every table. Each agent runs on its own manual clock (a node's clock), while heartbeat ages come
/// from the table's clock; tests age a heartbeat by moving it back in the table instead of sleeping.
/// </summary>
public abstract class MembershipAgentTestsBase : IAsyncLifetime
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan _heartbeatPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan _deathTimeout = TimeSpan.FromSeconds(3);
    private readonly List<MembershipAgent> _agents = [];

    protected MembershipTestKit Kit { get; private set; } = null!;

    protected abstract Task<MembershipTestKit> CreateKitAsync();

    public async Task InitializeAsync() => Kit = await CreateKitAsync();

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        await Kit.DisposeAsync();
    }

    private (MembershipAgent Agent, ManualTimeProvider Clock) NewAgent(
        string nodeId, IReadOnlyDictionary<string, string>? metadata = null, INodeLoad? nodeLoad = null, ILogger<MembershipAgent>? logger = null)
    {
        var clock = new ManualTimeProvider();
        var agent = new MembershipAgent(
            Kit.Table, new NodeIdentity(nodeId, $"http://{nodeId}:5000", $"host-{nodeId}", metadata), Kit.Options(_heartbeatPeriod, _deathTimeout), clock,
            logger ?? NullLogger<MembershipAgent>.Instance, nodeLoad);
        _agents.Add(agent);
        return (agent, clock);
    }

    private async Task<(MembershipAgent Agent, ManualTimeProvider Clock)> JoinedAgentAsync(string nodeId)
    {
        var node = NewAgent(nodeId);
        await node.Agent.JoinAsync().WaitAsync(_wait);
        return node;
    }

    private static Task<T> NextAsync<T>(Action<EventHandler<T>> subscribe, Func<T, bool> condition) => Eventually.NextAsync(subscribe, condition);

    [Fact]
    public async Task Join_NewNode_InsertsActiveRowWithIncarnationAndStartsHeartbeating()
    {
        var (agent, _) = NewAgent("a");

        await agent.JoinAsync().WaitAsync(_wait);
        var snapshot = await Kit.Table.ReadAllAsync();

        var row = Assert.Single(snapshot.Members);
        Assert.Equal(agent.Address, row.Address);
        Assert.Equal("a", row.Address.NodeId);
        Assert.True(row.Address.Incarnation > 0);
        Assert.Equal(NodeStatus.Active, row.Status);
        Assert.Equal("http://a:5000", row.Endpoint);
        Assert.Equal(NodeStatus.Active, agent.Status);
        // Insert as Joining, then Active: two membership changes.
        Assert.Equal(2, snapshot.Version);
    }

    [Fact]
    public async Task Join_IdentityWithMetadata_WritesItAndKeepsItThroughStatusChanges()
    {
        var (agent, _) = NewAgent("a", new Dictionary<string, string> { ["providers"] = "codex,claude" });

        await agent.JoinAsync().WaitAsync(_wait);
        var joined = (await Kit.Table.ReadAllAsync()).Find(agent.Address)!;
        await agent.BeginShutdownAsync().WaitAsync(_wait);
        var shuttingDown = (await Kit.Table.ReadAllAsync()).Find(agent.Address)!;

        var expected = new Dictionary<string, string> { ["providers"] = "codex,claude" };
        Assert.Equal(NodeStatus.Active, joined.Status);
        Assert.Equal(expected, joined.Metadata);
        Assert.Equal(NodeStatus.ShuttingDown, shuttingDown.Status);
        Assert.Equal(expected, shuttingDown.Metadata);
        Assert.Equal(expected, agent.Snapshot!.Find(agent.Address)!.Metadata);
    }

    [Fact]
    public async Task Join_NoMetadataNoLoadSource_WritesEmptyMetadataAndZeroLoad()
    {
        var (agent, _) = await JoinedAgentAsync("a");
        await agent.RefreshAsync().WaitAsync(_wait);

        var row = (await Kit.Table.ReadAllAsync()).Find(agent.Address)!;

        Assert.Empty(row.Metadata);
        Assert.Equal(0, row.Load);
    }

    [Fact]
    public async Task Refresh_LoadSource_HeartbeatWritesCurrentLoadAndSnapshotShowsItWithoutVersionChangeOrEvent()
    {
        var load = new SettableNodeLoad { Load = 0.25 };
        var (agent, _) = NewAgent("a", nodeLoad: load);
        await agent.JoinAsync().WaitAsync(_wait);
        var joined = await Kit.Table.ReadAllAsync();
        var changes = 0;
        agent.MembershipChanged += (_, _) => Interlocked.Increment(ref changes);

        load.Load = 0.75;
        await agent.RefreshAsync().WaitAsync(_wait);
        var afterRefresh = await Kit.Table.ReadAllAsync();

        // Inserted with the load of the moment it joined.
        Assert.Equal(0.25, joined.Find(agent.Address)!.Load);
        Assert.Equal(0.75, afterRefresh.Find(agent.Address)!.Load);
        Assert.Equal(joined.Version, afterRefresh.Version);
        Assert.Equal(joined.Find(agent.Address)!.ETag, afterRefresh.Find(agent.Address)!.ETag);
        Assert.Equal(0.75, agent.Snapshot!.Find(agent.Address)!.Load);
        Assert.Equal(0, changes);
    }

    [Fact]
    public async Task Timer_PeerLoadChanges_SnapshotIsReplacedEveryPeriodWithoutMembershipChanged()
    {
        var (a, clockA) = await JoinedAgentAsync("a");
        var bLoad = new SettableNodeLoad();
        var (b, _) = NewAgent("b", nodeLoad: bLoad);
        await b.JoinAsync().WaitAsync(_wait);
        await a.RefreshAsync().WaitAsync(_wait);
        var version = a.Snapshot!.Version;
        var changes = 0;
        a.MembershipChanged += (_, _) => Interlocked.Increment(ref changes);

        bLoad.Load = 1.5;
        await b.RefreshAsync().WaitAsync(_wait);
        clockA.Advance(_heartbeatPeriod);
        await Eventually.TrueAsync(() => a.Snapshot!.Find(b.Address)!.Load == 1.5, "a's snapshot shows b's new load");
        await a.RefreshAsync().WaitAsync(_wait); // waits for the timer's round to finish (it holds the agent's lock)

        Assert.Equal(version, a.Snapshot!.Version);
        Assert.Equal(0, changes);
    }

    [Fact]
    public async Task Refresh_LoadSourceThrowsOrReportsNonsense_StillHeartbeatsWithLastGoodLoadAndLogsOnce()
    {
        var load = new SettableNodeLoad { Load = 0.5 };
        var logger = new RecordingLogger<MembershipAgent>();
        var (agent, _) = NewAgent("a", nodeLoad: load, logger: logger);
        await agent.JoinAsync().WaitAsync(_wait);

        load.Throw = true;
        await Kit.MoveHeartbeatBackAsync(agent.Address, TimeSpan.FromMinutes(1));
        await agent.RefreshAsync().WaitAsync(_wait);
        var afterThrow = await Kit.Table.ReadAllAsync();
        load.Throw = false;
        load.Load = double.NaN;
        await agent.RefreshAsync().WaitAsync(_wait);
        load.Load = -1;
        await agent.RefreshAsync().WaitAsync(_wait);
        var afterNonsense = await Kit.Table.ReadAllAsync();
        load.Load = 0.9;
        await agent.RefreshAsync().WaitAsync(_wait);
        var recovered = await Kit.Table.ReadAllAsync();

        Assert.True(afterThrow.HeartbeatAge(afterThrow.Find(agent.Address)!) < _deathTimeout);
        Assert.Equal(0.5, afterThrow.Find(agent.Address)!.Load);
        Assert.Equal(0.5, afterNonsense.Find(agent.Address)!.Load);
        Assert.Equal(0.9, recovered.Find(agent.Address)!.Load);
        Assert.Equal(NodeStatus.Active, recovered.Find(agent.Address)!.Status);
        var warning = Assert.Single(logger.Entries, e => e.EventId.Id == 1209);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.IsType<InvalidOperationException>(warning.Exception);
    }

    [Fact]
    public async Task Refresh_OwnHeartbeatStale_RefreshesItWithoutChangingVersion()
    {
        var (agent, _) = await JoinedAgentAsync("a");
        await Kit.MoveHeartbeatBackAsync(agent.Address, TimeSpan.FromMinutes(1));
        var read = await Kit.Table.ReadAllAsync();

        await agent.RefreshAsync().WaitAsync(_wait);
        var snapshot = await Kit.Table.ReadAllAsync();

        Assert.Equal(read.Version, snapshot.Version);
        Assert.True(snapshot.HeartbeatAge(snapshot.Find(agent.Address)!) < _deathTimeout);
    }

    [Fact]
    public async Task Timer_PeerHeartbeatOlderThanDeathTimeoutByDatabaseClock_DeclaresPeerDead()
    {
        var (a, clockA) = await JoinedAgentAsync("a");
        var (b, _) = await JoinedAgentAsync("b");
        var bAddress = b.Address;
        await b.DisposeAsync(); // crashed: no more heartbeats, no goodbye
        await Kit.MoveHeartbeatBackAsync(bAddress, _deathTimeout + TimeSpan.FromSeconds(1));
        var bDead = NextAsync<MembershipSnapshot>(h => a.MembershipChanged += h, s => s.Find(bAddress)?.Status == NodeStatus.Dead);

        clockA.Advance(_heartbeatPeriod);
        await bDead;

        var snapshot = await Kit.Table.ReadAllAsync();
        Assert.Equal(NodeStatus.Dead, snapshot.Find(bAddress)!.Status);
        Assert.Equal(NodeStatus.Active, snapshot.Find(a.Address)!.Status);
    }

    [Fact]
    public async Task Timer_NodeClockJumpsAheadButDatabaseHeartbeatsFresh_DeclaresNobodyDead()
    {
        var (a, clockA) = await JoinedAgentAsync("a");
        var (b, _) = await JoinedAgentAsync("b");

        // Node a's clock runs far ahead (skew, or a suspended VM): its timer fires, but ages are measured in the database,
        // where b heartbeat moments ago.
        clockA.Advance(TimeSpan.FromMinutes(10));
        await a.RefreshAsync().WaitAsync(_wait);

        var snapshot = await Kit.Table.ReadAllAsync();
        Assert.Equal(NodeStatus.Active, snapshot.Find(b.Address)!.Status);
        Assert.Equal(NodeStatus.Active, snapshot.Find(a.Address)!.Status);
    }

    [Fact]
    public async Task Timer_NodeDeclaredDeadByPeer_RaisesSelfDeclaredDeadOnceAndStops()
    {
        var (a, clockA) = await JoinedAgentAsync("a");
        var raised = 0;
        a.SelfDeclaredDead += (_, _) => Interlocked.Increment(ref raised);
        var selfDead = NextAsync<SelfDeclaredDeadEventArgs>(h => a.SelfDeclaredDead += h, _ => true);
        await Kit.DeclareDeadAsync(a.Address);

        clockA.Advance(_heartbeatPeriod);
        var args = await selfDead;
        clockA.Advance(_heartbeatPeriod * 3);
        await a.RefreshAsync().WaitAsync(_wait);

        Assert.Equal(a.Address, args.Address);
        Assert.Equal(SelfDeathReason.DeclaredDead, args.Reason);
        Assert.Null(args.SupersededBy);
        Assert.Equal(NodeStatus.Dead, a.Status);
        Assert.Equal(1, raised);
    }

    [Fact]
    public async Task Join_RestartedNodeWithSameId_GetsNewerIncarnationAndSupersedesOld()
    {
        var (old, _) = await JoinedAgentAsync("a");
        var selfDead = NextAsync<SelfDeclaredDeadEventArgs>(h => old.SelfDeclaredDead += h, _ => true);

        var (restarted, _) = await JoinedAgentAsync("a");
        await old.RefreshAsync().WaitAsync(_wait);
        var args = await selfDead;
        var snapshot = await Kit.Table.ReadAllAsync();

        Assert.Equal("a", restarted.Address.NodeId);
        Assert.True(restarted.Address.Incarnation > old.Address.Incarnation);
        // The new incarnation declares the old one dead at once: its grains need not wait for the death timeout.
        Assert.Equal(NodeStatus.Dead, snapshot.Find(old.Address)!.Status);
        Assert.Equal(NodeStatus.Active, snapshot.Find(restarted.Address)!.Status);
        Assert.Equal(SelfDeathReason.Superseded, args.Reason);
        Assert.Equal(restarted.Address, args.SupersededBy);
    }

    [Fact]
    public async Task Shutdown_Graceful_GoesShuttingDownThenDeadWithoutSelfDeathEvent()
    {
        var (a, _) = await JoinedAgentAsync("a");
        var raised = false;
        a.SelfDeclaredDead += (_, _) => raised = true;

        await a.BeginShutdownAsync().WaitAsync(_wait);
        var shuttingDown = (await Kit.Table.ReadAllAsync()).Find(a.Address)!.Status;
        await a.LeaveAsync().WaitAsync(_wait);
        var left = (await Kit.Table.ReadAllAsync()).Find(a.Address)!.Status;

        Assert.Equal(NodeStatus.ShuttingDown, shuttingDown);
        Assert.Equal(NodeStatus.Dead, left);
        Assert.Equal(NodeStatus.Dead, a.Status);
        Assert.False(raised);
    }

    [Fact]
    public async Task Join_DeadRowsOlderThanExpiration_AreCleanedUp()
    {
        var defunct = await Kit.AddMemberAsync("gone");
        await Kit.DeclareDeadAsync(defunct);
        await Kit.MoveHeartbeatBackAsync(defunct, TimeSpan.FromDays(8));

        var (a, _) = await JoinedAgentAsync("a");

        Assert.Equal([a.Address], (await Kit.Table.ReadAllAsync()).Members.Select(m => m.Address));
    }
}

public sealed class InMemoryMembershipAgentTests : MembershipAgentTestsBase
{
    protected override Task<MembershipTestKit> CreateKitAsync() => Task.FromResult<MembershipTestKit>(new InMemoryMembershipTestKit());
}

public sealed class PostgresMembershipAgentTests(PostgresDatabaseFixture postgres) : MembershipAgentTestsBase, IClassFixture<PostgresDatabaseFixture>
{
    protected override async Task<MembershipTestKit> CreateKitAsync() => await PostgresMembershipTestKit.CreateAsync(postgres.ConnectionString);
}
