using OrleansCodex.Cluster.Membership;
using OrleansCodex.Testing.Postgres;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>
/// The membership table contract, run against every implementation (like Orleans' <c>MembershipTableTestsBase</c>, whose
/// test names it keeps as prefixes).
/// </summary>
public abstract class MembershipTableTestsBase : IAsyncLifetime
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(20);

    protected MembershipTestKit Kit { get; private set; } = null!;

    protected IMembershipTable Table => Kit.Table;

    protected abstract Task<MembershipTestKit> CreateKitAsync();

    public async Task InitializeAsync() => Kit = await CreateKitAsync();

    public async Task DisposeAsync() => await Kit.DisposeAsync();

    private static MembershipEntry Entry(string nodeId, long incarnation, NodeStatus status = NodeStatus.Joining) =>
        new(new NodeAddress(nodeId, incarnation), $"http://{nodeId}:5000", $"host-{nodeId}", status);

    [Fact]
    public async Task ReadAll_NewCluster_IsEmptyAtVersionZero()
    {
        var snapshot = await Table.ReadAllAsync();

        Assert.Equal(0, snapshot.Version);
        Assert.Empty(snapshot.Members);
        Assert.NotEqual(default, snapshot.DatabaseNow);
    }

    [Fact]
    public async Task InsertRow_NewIncarnation_AddsRowStampedByDatabaseClockAndBumpsVersion()
    {
        var before = await Kit.DatabaseNowAsync();

        var inserted = await Table.InsertRowAsync(Entry("a", 1) with { ETag = 99, LastHeartbeat = DateTimeOffset.UnixEpoch }, expectedVersion: 0);
        var after = await Kit.DatabaseNowAsync();
        var snapshot = await Table.ReadAllAsync();

        Assert.True(inserted);
        Assert.Equal(1, snapshot.Version);
        var row = Assert.Single(snapshot.Members);
        Assert.Equal(new NodeAddress("a", 1), row.Address);
        Assert.Equal("http://a:5000", row.Endpoint);
        Assert.Equal("host-a", row.HostName);
        Assert.Equal(NodeStatus.Joining, row.Status);
        Assert.Equal(1, row.ETag);
        Assert.InRange(row.StartTime, before, after);
        Assert.InRange(row.LastHeartbeat, before, after);
    }

    [Fact]
    public async Task InsertRow_WithMetadataAndLoad_ReadsBothBack()
    {
        var metadata = new Dictionary<string, string>
        {
            ["providers"] = "codex,claude",
            ["zone"] = "eu-west/\u00e4 \"quoted\" \\ {}",
            [""] = "",
        };

        var inserted = await Table.InsertRowAsync(Entry("a", 1) with { Metadata = metadata, Load = 0.25 }, expectedVersion: 0);
        var row = Assert.Single((await Table.ReadAllAsync()).Members);

        Assert.True(inserted);
        Assert.Equal(metadata, row.Metadata);
        Assert.Equal(0.25, row.Load);
    }

    [Fact]
    public async Task InsertRow_NoMetadata_ReadsBackEmptyMetadataAndZeroLoad()
    {
        Assert.True(await Table.InsertRowAsync(Entry("a", 1), expectedVersion: 0));

        var row = Assert.Single((await Table.ReadAllAsync()).Members);

        Assert.NotNull(row.Metadata);
        Assert.Empty(row.Metadata);
        Assert.Equal(0, row.Load);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-0.1)]
    public async Task InsertRow_InvalidLoad_ThrowsAndChangesNothing(double load)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Table.InsertRowAsync(Entry("a", 1) with { Load = load }, expectedVersion: 0));

        var snapshot = await Table.ReadAllAsync();
        Assert.Equal(0, snapshot.Version);
        Assert.Empty(snapshot.Members);
    }

    [Fact]
    public async Task InsertRow_StaleVersion_ReturnsFalseAndChangesNothing()
    {
        Assert.True(await Table.InsertRowAsync(Entry("a", 1), expectedVersion: 0));

        var inserted = await Table.InsertRowAsync(Entry("b", 1), expectedVersion: 0);
        var snapshot = await Table.ReadAllAsync();

        Assert.False(inserted);
        Assert.Equal(1, snapshot.Version);
        Assert.Equal([new NodeAddress("a", 1)], snapshot.Members.Select(m => m.Address));
    }

    [Fact]
    public async Task InsertRow_ExistingIncarnation_ReturnsFalseAndKeepsVersion()
    {
        Assert.True(await Table.InsertRowAsync(Entry("a", 1), expectedVersion: 0));

        var inserted = await Table.InsertRowAsync(Entry("a", 1) with { HostName = "other" }, expectedVersion: 1);
        var snapshot = await Table.ReadAllAsync();

        Assert.False(inserted);
        Assert.Equal(1, snapshot.Version);
        Assert.Equal("host-a", Assert.Single(snapshot.Members).HostName);
    }

    [Fact]
    public async Task UpdateRow_CurrentETagAndVersion_ChangesRowAndBumpsBoth()
    {
        var address = await Kit.AddMemberAsync("a", NodeStatus.Joining);
        var read = await Table.ReadAllAsync();
        var row = read.Find(address)!;

        var updated = await Table.UpdateRowAsync(row with { Status = NodeStatus.Active, Endpoint = "http://a:6000" }, row.ETag, read.Version);
        var snapshot = await Table.ReadAllAsync();

        Assert.True(updated);
        Assert.Equal(read.Version + 1, snapshot.Version);
        var after = snapshot.Find(address)!;
        Assert.Equal(NodeStatus.Active, after.Status);
        Assert.Equal("http://a:6000", after.Endpoint);
        Assert.Equal(row.ETag + 1, after.ETag);
        Assert.Equal(row.StartTime, after.StartTime);
    }

    [Fact]
    public async Task UpdateRow_NewMetadata_ReplacesItWholeAndKeepsLoad()
    {
        Assert.True(await Table.InsertRowAsync(
            Entry("a", 1) with { Metadata = new Dictionary<string, string> { ["providers"] = "codex", ["zone"] = "eu" } }, expectedVersion: 0));
        var address = new NodeAddress("a", 1);
        Assert.True(await Table.UpdateHeartbeatAsync(address, load: 0.75));
        var read = await Table.ReadAllAsync();
        var row = read.Find(address)!;

        var updated = await Table.UpdateRowAsync(
            row with { Status = NodeStatus.Active, Metadata = new Dictionary<string, string> { ["providers"] = "codex,claude" }, Load = 0 },
            row.ETag, read.Version);
        var snapshot = await Table.ReadAllAsync();

        Assert.True(updated);
        var after = snapshot.Find(address)!;
        Assert.Equal(new Dictionary<string, string> { ["providers"] = "codex,claude" }, after.Metadata);
        Assert.Equal(NodeStatus.Active, after.Status);
        Assert.Equal(0.75, after.Load);
        Assert.Equal(row.ETag + 1, after.ETag);
        Assert.Equal(read.Version + 1, snapshot.Version);
    }

    [Fact]
    public async Task ReadAll_UnchangedRowReadTwice_EntriesAreEqualIncludingMetadata()
    {
        Assert.True(await Table.InsertRowAsync(
            Entry("a", 1) with { Metadata = new Dictionary<string, string> { ["providers"] = "codex,claude", ["zone"] = "eu" }, Load = 1.5 },
            expectedVersion: 0));

        var first = Assert.Single((await Table.ReadAllAsync()).Members);
        var second = Assert.Single((await Table.ReadAllAsync()).Members);

        Assert.Equal(first, second);
        Assert.True(first == second);
    }

    [Fact]
    public async Task UpdateRow_StaleETag_ReturnsFalseAndChangesNothing()
    {
        var address = await Kit.AddMemberAsync("a", NodeStatus.Joining);
        var read = await Table.ReadAllAsync();
        var row = read.Find(address)!;
        Assert.True(await Table.UpdateRowAsync(row with { Status = NodeStatus.Active }, row.ETag, read.Version));

        var updated = await Table.UpdateRowAsync(row with { Status = NodeStatus.ShuttingDown }, row.ETag, read.Version + 1);
        var snapshot = await Table.ReadAllAsync();

        Assert.False(updated);
        Assert.Equal(read.Version + 1, snapshot.Version);
        Assert.Equal(NodeStatus.Active, snapshot.Find(address)!.Status);
    }

    [Fact]
    public async Task UpdateRow_StaleVersion_ReturnsFalseAndChangesNothing()
    {
        var address = await Kit.AddMemberAsync("a", NodeStatus.Joining);
        var read = await Table.ReadAllAsync();
        var row = read.Find(address)!;
        await Kit.AddMemberAsync("b");

        var updated = await Table.UpdateRowAsync(row with { Status = NodeStatus.Active }, row.ETag, read.Version);
        var snapshot = await Table.ReadAllAsync();

        Assert.False(updated);
        Assert.Equal(read.Version + 1, snapshot.Version);
        Assert.Equal(NodeStatus.Joining, snapshot.Find(address)!.Status);
    }

    [Fact]
    public async Task UpdateRow_DeadRow_StaysDead()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.DeclareDeadAsync(address);
        var read = await Table.ReadAllAsync();
        var row = read.Find(address)!;

        var updated = await Table.UpdateRowAsync(row with { Status = NodeStatus.Active }, row.ETag, read.Version);

        Assert.False(updated);
        Assert.Equal(NodeStatus.Dead, (await Table.ReadAllAsync()).Find(address)!.Status);
    }

    [Fact]
    public async Task UpdateRowInParallel_TwentyInsertsPerRound_ExactlyOneWinsEachRound()
    {
        for (var round = 0; round < 5; round++)
        {
            var read = await Table.ReadAllAsync();

            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
                Task.Run(() => Table.InsertRowAsync(Entry($"node-{round}-{i}", 1), read.Version)))).WaitAsync(_wait);
            var snapshot = await Table.ReadAllAsync();

            Assert.Equal(1, results.Count(inserted => inserted));
            Assert.Equal(read.Version + 1, snapshot.Version);
            Assert.Equal(round + 1, snapshot.Members.Count);
            var winner = Array.IndexOf(results, true);
            Assert.NotNull(snapshot.Find(new NodeAddress($"node-{round}-{winner}", 1)));
        }
    }

    [Fact]
    public async Task UpdateRowInParallel_TwentyUpdatesPerRound_ExactlyOneWinsEachRound()
    {
        var address = await Kit.AddMemberAsync("a");
        for (var round = 0; round < 5; round++)
        {
            var read = await Table.ReadAllAsync();
            var row = read.Find(address)!;

            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
                Task.Run(() => Table.UpdateRowAsync(row with { HostName = $"host-{round}-{i}" }, row.ETag, read.Version)))).WaitAsync(_wait);
            var snapshot = await Table.ReadAllAsync();

            Assert.Equal(1, results.Count(updated => updated));
            Assert.Equal(read.Version + 1, snapshot.Version);
            Assert.Equal(row.ETag + 1, snapshot.Find(address)!.ETag);
            Assert.Equal($"host-{round}-{Array.IndexOf(results, true)}", snapshot.Find(address)!.HostName);
        }
    }

    [Fact]
    public async Task UpdateRowInParallel_TwentyNodesJoinWithRetries_AllJoinAndEachJoinBumpsVersionOnce()
    {
        var addresses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            while (true)
            {
                var read = await Table.ReadAllAsync();
                if (await Table.InsertRowAsync(Entry($"joiner-{i}", 1), read.Version))
                {
                    return new NodeAddress($"joiner-{i}", 1);
                }
            }
        }))).WaitAsync(_wait);
        var snapshot = await Table.ReadAllAsync();

        Assert.Equal(20, snapshot.Version);
        Assert.Equal(addresses.OrderBy(a => a.NodeId, StringComparer.Ordinal), snapshot.Members.Select(m => m.Address).OrderBy(a => a.NodeId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task UpdateIAmAlive_LiveRow_StampsDatabaseNowWithoutBumpingVersionOrETag()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.MoveHeartbeatBackAsync(address, TimeSpan.FromMinutes(5));
        var read = await Table.ReadAllAsync();
        var before = await Kit.DatabaseNowAsync();

        var alive = await Table.UpdateHeartbeatAsync(address, load: 0);
        var after = await Kit.DatabaseNowAsync();
        var snapshot = await Table.ReadAllAsync();

        Assert.True(alive);
        Assert.Equal(read.Version, snapshot.Version);
        var row = snapshot.Find(address)!;
        Assert.Equal(read.Find(address)!.ETag, row.ETag);
        Assert.InRange(row.LastHeartbeat, before, after);
        Assert.True(read.HeartbeatAge(read.Find(address)!) >= TimeSpan.FromMinutes(5));
        Assert.True(snapshot.HeartbeatAge(row) < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task UpdateIAmAlive_WithLoad_StoresEachLoadWithoutBumpingVersionOrETag()
    {
        Assert.True(await Table.InsertRowAsync(
            Entry("a", 1, NodeStatus.Active) with { Metadata = new Dictionary<string, string> { ["providers"] = "codex" } }, expectedVersion: 0));
        var address = new NodeAddress("a", 1);
        var read = await Table.ReadAllAsync();

        Assert.True(await Table.UpdateHeartbeatAsync(address, load: 0.5));
        var half = await Table.ReadAllAsync();
        Assert.True(await Table.UpdateHeartbeatAsync(address, load: 1.75));
        var overloaded = await Table.ReadAllAsync();
        Assert.True(await Table.UpdateHeartbeatAsync(address, load: 0));
        var idle = await Table.ReadAllAsync();

        Assert.Equal([0.5, 1.75, 0], new[] { half, overloaded, idle }.Select(s => s.Find(address)!.Load));
        Assert.All(new[] { half, overloaded, idle }, s =>
        {
            Assert.Equal(read.Version, s.Version);
            Assert.Equal(read.Find(address)!.ETag, s.Find(address)!.ETag);
            Assert.Equal(read.Find(address)!.Metadata, s.Find(address)!.Metadata);
        });
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1)]
    public async Task UpdateIAmAlive_InvalidLoad_ThrowsAndChangesNothing(double load)
    {
        var address = await Kit.AddMemberAsync("a");
        Assert.True(await Table.UpdateHeartbeatAsync(address, load: 0.5));
        var read = await Table.ReadAllAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Table.UpdateHeartbeatAsync(address, load));

        Assert.Equal(read.Find(address), (await Table.ReadAllAsync()).Find(address));
    }

    [Fact]
    public async Task UpdateIAmAlive_DeadOrMissingRow_ReturnsFalse()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.DeclareDeadAsync(address);
        var read = await Table.ReadAllAsync();

        var dead = await Table.UpdateHeartbeatAsync(address, load: 0.5);
        var missing = await Table.UpdateHeartbeatAsync(new NodeAddress("never-joined", 1), load: 0.5);

        Assert.False(dead);
        Assert.False(missing);
        Assert.Equal(read.Find(address)!.LastHeartbeat, (await Table.ReadAllAsync()).Find(address)!.LastHeartbeat);
    }

    [Fact]
    public async Task DeclareDead_HeartbeatOlderThanLimit_MarksDeadAndBumpsVersion()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.MoveHeartbeatBackAsync(address, TimeSpan.FromSeconds(10));
        var read = await Table.ReadAllAsync();

        var declared = await Table.DeclareDeadAsync(address, TimeSpan.FromSeconds(3), read.Version);
        var snapshot = await Table.ReadAllAsync();

        Assert.True(declared);
        Assert.Equal(read.Version + 1, snapshot.Version);
        Assert.Equal(NodeStatus.Dead, snapshot.Find(address)!.Status);
        Assert.Equal(read.Find(address)!.ETag + 1, snapshot.Find(address)!.ETag);
    }

    [Fact]
    public async Task DeclareDead_HeartbeatYoungerThanLimitByDatabaseClock_ReturnsFalse()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.MoveHeartbeatBackAsync(address, TimeSpan.FromSeconds(1));
        var read = await Table.ReadAllAsync();

        var declared = await Table.DeclareDeadAsync(address, TimeSpan.FromMinutes(1), read.Version);
        var snapshot = await Table.ReadAllAsync();

        Assert.False(declared);
        Assert.Equal(read.Version, snapshot.Version);
        Assert.Equal(NodeStatus.Active, snapshot.Find(address)!.Status);
    }

    [Fact]
    public async Task DeclareDead_StaleVersion_ReturnsFalse()
    {
        var address = await Kit.AddMemberAsync("a");
        var read = await Table.ReadAllAsync();
        await Kit.AddMemberAsync("b");

        var declared = await Table.DeclareDeadAsync(address, TimeSpan.Zero, read.Version);

        Assert.False(declared);
        Assert.Equal(NodeStatus.Active, (await Table.ReadAllAsync()).Find(address)!.Status);
    }

    [Fact]
    public async Task DeclareDead_AlreadyDead_ReturnsFalseAndKeepsVersion()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.DeclareDeadAsync(address);
        var read = await Table.ReadAllAsync();

        var declared = await Table.DeclareDeadAsync(address, TimeSpan.Zero, read.Version);

        Assert.False(declared);
        Assert.Equal(read.Version, (await Table.ReadAllAsync()).Version);
    }

    [Fact]
    public async Task DeclareDeadInParallel_TwentyPeersDeclareOneNode_ExactlyOneWins()
    {
        var address = await Kit.AddMemberAsync("a");
        await Kit.MoveHeartbeatBackAsync(address, TimeSpan.FromSeconds(10));
        var read = await Table.ReadAllAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => Table.DeclareDeadAsync(address, TimeSpan.FromSeconds(3), read.Version)))).WaitAsync(_wait);

        Assert.Equal(1, results.Count(declared => declared));
        Assert.Equal(read.Version + 1, (await Table.ReadAllAsync()).Version);
    }

    [Fact]
    public async Task CleanupDefunctSiloEntries_OldRowsNotActive_AreDeletedWithoutBumpingVersion()
    {
        var oldActive = await Kit.AddMemberAsync("old-active");
        var oldDead = await Kit.AddMemberAsync("old-dead");
        var oldJoining = await Kit.AddMemberAsync("old-joining", NodeStatus.Joining);
        var recentDead = await Kit.AddMemberAsync("recent-dead");
        await Kit.DeclareDeadAsync(oldDead);
        await Kit.DeclareDeadAsync(recentDead);
        foreach (var address in new[] { oldActive, oldDead, oldJoining })
        {
            await Kit.MoveHeartbeatBackAsync(address, TimeSpan.FromHours(2));
        }

        var read = await Table.ReadAllAsync();

        var removed = await Table.CleanupDefunctEntriesAsync(TimeSpan.FromHours(1));
        var snapshot = await Table.ReadAllAsync();

        Assert.Equal(2, removed);
        Assert.Equal(read.Version, snapshot.Version);
        Assert.Equal([oldActive, recentDead], snapshot.Members.Select(m => m.Address).OrderBy(a => a.NodeId, StringComparer.Ordinal));
    }
}

public sealed class InMemoryMembershipTableTests : MembershipTableTestsBase
{
    protected override Task<MembershipTestKit> CreateKitAsync() => Task.FromResult<MembershipTestKit>(new InMemoryMembershipTestKit());
}

public sealed class PostgresMembershipTableTests(PostgresDatabaseFixture postgres) : MembershipTableTestsBase, IClassFixture<PostgresDatabaseFixture>
{
    protected override async Task<MembershipTestKit> CreateKitAsync() => await PostgresMembershipTestKit.CreateAsync(postgres.ConnectionString);

    [Fact]
    public async Task ReadAll_TwoClustersInOneDatabase_SeeOnlyTheirOwnRows()
    {
        await using var other = await PostgresMembershipTestKit.CreateAsync(postgres.ConnectionString);
        await Kit.AddMemberAsync("mine");
        await other.AddMemberAsync("theirs");
        await other.AddMemberAsync("theirs-too");

        var mine = await Table.ReadAllAsync();
        var theirs = await other.Table.ReadAllAsync();

        Assert.Equal(1, mine.Version);
        Assert.Equal(["mine"], mine.Members.Select(m => m.Address.NodeId));
        Assert.Equal(2, theirs.Version);
    }
}
