using System.Data.Common;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Cluster.Tests.Storage;
using OrleansCodex.Testing.Time;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>
/// One membership table under test plus the two things a contract test cannot do through <see cref="IMembershipTable"/>:
/// read the table's clock, and make a heartbeat older without waiting (the sleep-free way to test death by heartbeat age).
/// </summary>
public abstract class MembershipTestKit : IAsyncDisposable
{
    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";

    public IOptions<MembershipOptions> Options(TimeSpan? heartbeatPeriod = null, TimeSpan? deathTimeout = null) =>
        Microsoft.Extensions.Options.Options.Create(new MembershipOptions
        {
            ClusterId = ClusterId,
            HeartbeatPeriod = heartbeatPeriod ?? TimeSpan.FromSeconds(1),
            DeathTimeout = deathTimeout ?? TimeSpan.FromSeconds(3),
        });

    public abstract IMembershipTable Table { get; }

    public abstract Task<DateTimeOffset> DatabaseNowAsync();

    public abstract Task MoveHeartbeatBackAsync(NodeAddress address, TimeSpan by);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Inserts a row the way a joining node does: read the version, compare-and-swap, retry on conflict.</summary>
    public async Task<NodeAddress> AddMemberAsync(string nodeId, NodeStatus status = NodeStatus.Active, long? incarnation = null)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var snapshot = await Table.ReadAllAsync();
            var address = new NodeAddress(nodeId, incarnation ?? snapshot.Members.Where(m => m.Address.NodeId == nodeId).Select(m => m.Address.Incarnation).DefaultIfEmpty(0).Max() + 1);
            if (await Table.InsertRowAsync(new MembershipEntry(address, $"http://{nodeId}.test:5000", $"host-{nodeId}", status), snapshot.Version))
            {
                return address;
            }
        }

        throw new InvalidOperationException($"Could not insert {nodeId}.");
    }

    public async Task DeclareDeadAsync(NodeAddress address)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var snapshot = await Table.ReadAllAsync();
            if (snapshot.Find(address) is null or { Status: NodeStatus.Dead } || await Table.DeclareDeadAsync(address, TimeSpan.Zero, snapshot.Version))
            {
                return;
            }
        }

        throw new InvalidOperationException($"Could not declare {address} dead.");
    }
}

/// <summary>The PostgreSQL table on a migrated test database; each kit is its own cluster id, so tests never see each other's rows.</summary>
public sealed class PostgresMembershipTestKit : MembershipTestKit
{
    private PostgresMembershipTestKit(ClusterDatabase database)
    {
        Database = database;
        Table = new PostgresMembershipTable(database, Options());
    }

    public ClusterDatabase Database { get; }

    public override IMembershipTable Table { get; }

    public static async Task<PostgresMembershipTestKit> CreateAsync(string connectionString)
    {
        var database = new PostgresClusterDatabase(connectionString);
        await MigrationRunnerTests.CreateRunner(database).MigrateAsync();
        return new PostgresMembershipTestKit(database);
    }

    public override async Task<DateTimeOffset> DatabaseNowAsync()
    {
        await using var connection = await Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT now()";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    public override async Task MoveHeartbeatBackAsync(NodeAddress address, TimeSpan by)
    {
        await using var connection = await Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "UPDATE cluster_members SET last_heartbeat = last_heartbeat - @by WHERE cluster_id = @cluster_id AND node_id = @node_id AND incarnation = @incarnation";
        Add(command, "by", by);
        Add(command, "cluster_id", ClusterId);
        Add(command, "node_id", address.NodeId);
        Add(command, "incarnation", address.Incarnation);
        if (await command.ExecuteNonQueryAsync() != 1)
        {
            throw new InvalidOperationException($"{address} has no row.");
        }
    }

    public override ValueTask DisposeAsync() => Database.DisposeAsync();

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>The in-memory table; its "database clock" is a manual clock of its own, separate from any node's clock.</summary>
public sealed class InMemoryMembershipTestKit : MembershipTestKit
{
    public InMemoryMembershipTestKit() => InMemoryTable = new InMemoryMembershipTable(DatabaseClock);

    public ManualTimeProvider DatabaseClock { get; } = new();

    public InMemoryMembershipTable InMemoryTable { get; }

    public override IMembershipTable Table => InMemoryTable;

    public override Task<DateTimeOffset> DatabaseNowAsync() => Task.FromResult(DatabaseClock.GetUtcNow());

    public override Task MoveHeartbeatBackAsync(NodeAddress address, TimeSpan by)
    {
        InMemoryTable.MoveHeartbeatBack(address, by);
        return Task.CompletedTask;
    }
}
