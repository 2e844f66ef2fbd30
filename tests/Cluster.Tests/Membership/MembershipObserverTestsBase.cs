using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Testing.Postgres;
using OrleansCodex.Testing.Time;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>
/// The read-only membership view of a pure client, over every table. The observer runs on its own manual clock; the table it
/// reads is wrapped to count writes and to fail reads on demand.
/// </summary>
public abstract class MembershipObserverTestsBase : IAsyncLifetime
{
    private static readonly TimeSpan _wait = Eventually.Timeout;
    private static readonly TimeSpan _heartbeatPeriod = TimeSpan.FromSeconds(1);
    private readonly List<IAsyncDisposable> _disposables = [];

    protected MembershipTestKit Kit { get; private set; } = null!;

    private InstrumentedMembershipTable Table { get; set; } = null!;

    private ManualTimeProvider Clock { get; } = new();

    private RecordingLogger<MembershipObserver> Logger { get; } = new();

    protected abstract Task<MembershipTestKit> CreateKitAsync();

    public async Task InitializeAsync()
    {
        Kit = await CreateKitAsync();
        Table = new InstrumentedMembershipTable(Kit.Table);
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await Kit.DisposeAsync();
    }

    private MembershipObserver NewObserver()
    {
        var observer = new MembershipObserver(Table, Kit.Options(_heartbeatPeriod), Clock, Logger);
        _disposables.Add(observer);
        return observer;
    }

    private async Task<MembershipObserver> StartedObserverAsync()
    {
        var observer = NewObserver();
        await observer.StartAsync().WaitAsync(_wait);
        return observer;
    }

    private async Task<MembershipAgent> JoinedAgentAsync(string nodeId, INodeLoad? nodeLoad = null)
    {
        // The agent writes to the unwrapped table on a clock of its own, so the observer's counters and timer see only the observer.
        var agent = new MembershipAgent(Kit.Table, new NodeIdentity(nodeId, $"http://{nodeId}:5000", $"host-{nodeId}"),
            Kit.Options(_heartbeatPeriod), new ManualTimeProvider(), NullLogger<MembershipAgent>.Instance, nodeLoad);
        _disposables.Add(agent);
        await agent.JoinAsync().WaitAsync(_wait);
        return agent;
    }

    [Fact]
    public async Task Start_ExistingMembers_ReadsSnapshotAndRaisesMembershipChangedOnce()
    {
        var a = await Kit.AddMemberAsync("a");
        var observer = NewObserver();
        var raised = new List<MembershipSnapshot>();
        observer.MembershipChanged += (_, snapshot) => raised.Add(snapshot);

        Assert.Null(observer.Snapshot);
        await observer.StartAsync().WaitAsync(_wait);

        var snapshot = Assert.Single(raised);
        Assert.Same(snapshot, observer.Snapshot);
        Assert.Equal(1, snapshot.Version);
        Assert.Equal([a], snapshot.ActiveMembers.Select(m => m.Address));
        await Assert.ThrowsAsync<InvalidOperationException>(() => observer.StartAsync());
    }

    [Fact]
    public async Task Timer_NodeJoinsThenIsDeclaredDead_RaisesMembershipChangedForEachNewVersion()
    {
        var observer = await StartedObserverAsync();
        var snapshots = new List<MembershipSnapshot>();
        observer.MembershipChanged += (_, snapshot) => snapshots.Add(snapshot);

        var agent = await JoinedAgentAsync("a");
        var joined = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.Find(agent.Address)?.Status == NodeStatus.Active);
        Clock.Advance(_heartbeatPeriod);
        var seenJoined = await joined;

        await agent.DisposeAsync(); // crashed
        await Kit.DeclareDeadAsync(agent.Address); // a peer noticed
        var died = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.Find(agent.Address)?.Status == NodeStatus.Dead);
        Clock.Advance(_heartbeatPeriod);
        var seenDead = await died;
        await observer.RefreshAsync().WaitAsync(_wait); // the round that raised has finished

        Assert.Equal([agent.Address], seenJoined.ActiveMembers.Select(m => m.Address));
        Assert.Empty(seenDead.ActiveMembers);
        Assert.False(seenDead.IsLive(agent.Address));
        Assert.Same(seenDead, snapshots[^1]);
        Assert.Equal(seenDead.Version, observer.Snapshot!.Version);
        // One event per version seen, none for rounds that found the same version.
        Assert.Equal(snapshots.Select(s => s.Version).Distinct(), snapshots.Select(s => s.Version));
    }

    [Fact]
    public async Task Timer_NodeHeartbeatsWithNewLoad_ReplacesSnapshotWithoutRaising()
    {
        var load = new SettableNodeLoad { Load = 0.1 };
        var agent = await JoinedAgentAsync("a", load);
        var observer = await StartedObserverAsync();
        var version = observer.Snapshot!.Version;
        var changes = 0;
        observer.MembershipChanged += (_, _) => Interlocked.Increment(ref changes);

        load.Load = 0.9;
        await agent.RefreshAsync().WaitAsync(_wait);
        Clock.Advance(_heartbeatPeriod);
        await Eventually.TrueAsync(() => observer.Snapshot!.Find(agent.Address)!.Load == 0.9, "the observer's snapshot shows the new load");
        await observer.RefreshAsync().WaitAsync(_wait); // the timer's round has finished

        Assert.Equal(version, observer.Snapshot!.Version);
        Assert.Equal(0, changes);
    }

    [Fact]
    public async Task Refresh_AfterChange_ReadsAtOnceWithoutWaitingForTheTimer()
    {
        var observer = await StartedObserverAsync();
        var changes = 0;
        observer.MembershipChanged += (_, _) => Interlocked.Increment(ref changes);
        var a = await Kit.AddMemberAsync("a");

        await observer.RefreshAsync().WaitAsync(_wait);

        // Raised before RefreshAsync returned, with the clock never moved.
        Assert.Equal(1, changes);
        Assert.True(observer.Snapshot!.IsLive(a));
    }

    [Fact]
    public async Task Observer_StartTimerAndRefresh_NeverWritesToTheTable()
    {
        var agent = await JoinedAgentAsync("a");
        var before = await Kit.Table.ReadAllAsync();

        var observer = await StartedObserverAsync();
        for (var period = 0; period < 5; period++)
        {
            var reads = Table.Reads;
            Clock.Advance(_heartbeatPeriod);
            await Eventually.TrueAsync(() => Table.Reads > reads, "the observer read again");
        }

        await observer.RefreshAsync().WaitAsync(_wait);
        await observer.DisposeAsync();
        var after = await Kit.Table.ReadAllAsync();

        Assert.Equal(0, Table.Writes);
        Assert.True(Table.Reads >= 7);
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Find(agent.Address), after.Find(agent.Address)); // not even a heartbeat
    }

    [Fact]
    public async Task Timer_ReadFails_LogsKeepsLastSnapshotAndRecoversNextPeriod()
    {
        var observer = await StartedObserverAsync();
        var first = observer.Snapshot!;

        Table.FailNextReads(1);
        Clock.Advance(_heartbeatPeriod);
        await Table.ReadFailed.WaitAsync(_wait);
        Assert.Same(first, observer.Snapshot);
        var a = await Kit.AddMemberAsync("a");
        var recovered = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.IsLive(a));
        Clock.Advance(_heartbeatPeriod);
        await recovered;

        var failure = Assert.Single(Logger.Entries, e => e.EventId.Id == 1211);
        Assert.Equal(LogLevel.Warning, failure.Level);
        Assert.IsType<InvalidOperationException>(failure.Exception);
        Assert.True(observer.Snapshot!.IsLive(a));
    }

    [Fact]
    public async Task Start_FirstReadFails_ThrowsAndCanBeStartedAgain()
    {
        var observer = NewObserver();
        Table.FailNextReads(1);

        await Assert.ThrowsAsync<InvalidOperationException>(() => observer.StartAsync());
        Assert.Null(observer.Snapshot);
        await observer.StartAsync().WaitAsync(_wait);

        Assert.NotNull(observer.Snapshot);
        var a = await Kit.AddMemberAsync("a");
        var changed = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.IsLive(a));
        Clock.Advance(_heartbeatPeriod);
        await changed;
    }

    [Fact]
    public async Task Timer_HandlerThrows_IsLoggedAndOtherHandlersAndLaterRoundsStillRun()
    {
        var observer = await StartedObserverAsync();
        observer.MembershipChanged += (_, _) => throw new InvalidOperationException("handler bug (test)");
        var a = await Kit.AddMemberAsync("a");
        var first = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.IsLive(a));
        Clock.Advance(_heartbeatPeriod);
        await first;

        var b = await Kit.AddMemberAsync("b");
        var second = Eventually.NextAsync<MembershipSnapshot>(h => observer.MembershipChanged += h, s => s.IsLive(b));
        Clock.Advance(_heartbeatPeriod);
        await second;

        Assert.Equal(2, Logger.Entries.Count(e => e.EventId.Id == 1208 && e.Level == LogLevel.Error));
    }

    [Fact]
    public async Task Dispose_Started_StopsReadingAndRefusesRefresh()
    {
        var observer = await StartedObserverAsync();

        await observer.DisposeAsync();
        var reads = Table.Reads;
        Clock.Advance(_heartbeatPeriod * 3);
        await observer.DisposeAsync(); // twice is fine

        Assert.Equal(reads, Table.Reads);
        Assert.NotNull(observer.Snapshot);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => observer.RefreshAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => observer.StartAsync());
    }
}

public sealed class InMemoryMembershipObserverTests : MembershipObserverTestsBase
{
    protected override Task<MembershipTestKit> CreateKitAsync() => Task.FromResult<MembershipTestKit>(new InMemoryMembershipTestKit());
}

public sealed class PostgresMembershipObserverTests(PostgresDatabaseFixture postgres) : MembershipObserverTestsBase, IClassFixture<PostgresDatabaseFixture>
{
    protected override async Task<MembershipTestKit> CreateKitAsync() => await PostgresMembershipTestKit.CreateAsync(postgres.ConnectionString);
}
