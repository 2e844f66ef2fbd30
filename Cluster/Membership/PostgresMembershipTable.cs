using System.Data.Common;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// The membership table in PostgreSQL (<c>cluster_version</c> + <c>cluster_members</c>, migrations <c>cluster-002-membership</c>
/// and <c>cluster-004-membership-metadata</c>, which adds the <c>metadata</c> (<c>jsonb</c>) and <c>load</c> columns).
/// Each change is one statement that bumps the version row only if it still has the expected version and changes the member
/// row in the same statement, so there is nothing to roll back and no window between the check and the write.
/// </summary>
public sealed class PostgresMembershipTable : IMembershipTable
{
    private const string UniqueViolation = "23505";

    private readonly ClusterDatabase _database;
    private readonly string _clusterId;
    private volatile bool _initialized;

    public PostgresMembershipTable(ClusterDatabase database, IOptions<MembershipOptions> options)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        if (database.Kind != DatabaseKind.Postgres)
        {
            throw new ArgumentException($"{nameof(PostgresMembershipTable)} needs a PostgreSQL database, not {database.Kind}.", nameof(database));
        }

        _database = database;
        _clusterId = options.Value.ClusterId;
    }

    public async Task<MembershipSnapshot> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(MembershipSql.ReadAll);
        command.AddParameter("cluster_id", _clusterId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        long version = 0;
        var now = DateTimeOffset.MinValue;
        var members = new List<MembershipEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            version = reader.GetInt64(0);
            now = reader.GetFieldValue<DateTimeOffset>(1);
            if (reader.IsDBNull(2))
            {
                continue;
            }

            var address = new NodeAddress(reader.GetString(2), reader.GetInt64(3));
            members.Add(new MembershipEntry(address, reader.GetString(4), reader.GetString(5), Enum.Parse<NodeStatus>(reader.GetString(6)))
            {
                ETag = reader.GetInt64(7),
                StartTime = reader.GetFieldValue<DateTimeOffset>(8),
                LastHeartbeat = reader.GetFieldValue<DateTimeOffset>(9),
                Metadata = ReadMetadata(reader.GetString(10), address),
                Load = reader.GetDouble(11),
            });
        }

        return new MembershipSnapshot(version, now, members);
    }

    public async Task<bool> InsertRowAsync(MembershipEntry entry, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        MembershipEntry.ValidateLoad(entry.Load, nameof(entry));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateRowCommand(connection, MembershipSql.Insert, entry.Address);
        command.AddParameter("endpoint", entry.Endpoint);
        command.AddParameter("host_name", entry.HostName);
        command.AddParameter("status", entry.Status.ToString());
        command.AddParameter("metadata", MembershipJsonContext.SerializeMetadata(entry.Metadata));
        command.AddParameter("load", entry.Load);
        command.AddParameter("expected_version", expectedVersion);
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not (null or DBNull);
        }
        catch (DbException ex) when (ex.SqlState == UniqueViolation)
        {
            // Only reachable if someone inserts rows without bumping the version; a duplicate is still just a lost race.
            return false;
        }
    }

    public async Task<bool> UpdateRowAsync(MembershipEntry entry, long expectedETag, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateRowCommand(connection, MembershipSql.Update, entry.Address);
        command.AddParameter("endpoint", entry.Endpoint);
        command.AddParameter("host_name", entry.HostName);
        command.AddParameter("status", entry.Status.ToString());
        command.AddParameter("metadata", MembershipJsonContext.SerializeMetadata(entry.Metadata));
        command.AddParameter("expected_etag", expectedETag);
        command.AddParameter("expected_version", expectedVersion);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not (null or DBNull);
    }

    public async Task<bool> UpdateHeartbeatAsync(NodeAddress address, double load, CancellationToken cancellationToken = default)
    {
        MembershipEntry.ValidateLoad(load);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateRowCommand(connection, MembershipSql.Heartbeat, address);
        command.AddParameter("load", load);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeclareDeadAsync(NodeAddress address, TimeSpan minHeartbeatAge, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minHeartbeatAge, TimeSpan.Zero);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateRowCommand(connection, MembershipSql.DeclareDead, address);
        command.AddParameter("min_heartbeat_age", minHeartbeatAge);
        command.AddParameter("expected_version", expectedVersion);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not (null or DBNull);
    }

    public async Task<int> CleanupDefunctEntriesAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(MembershipSql.Cleanup);
        command.AddParameter("cluster_id", _clusterId);
        command.AddParameter("older_than", olderThan);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static IReadOnlyDictionary<string, string> ReadMetadata(string json, NodeAddress address)
    {
        try
        {
            return MembershipJsonContext.DeserializeMetadata(json);
        }
        catch (JsonException ex)
        {
            // Only this class writes the column; anything else was written by hand and must be fixed there.
            throw new InvalidOperationException(
                $"The membership row of {address} has metadata that is not a JSON object of strings: {json}", ex);
        }
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (_initialized)
        {
            return connection;
        }

        try
        {
            await using var command = connection.CreateCommand(MembershipSql.Init);
            command.AddParameter("cluster_id", _clusterId);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _initialized = true;
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private DbCommand CreateRowCommand(DbConnection connection, string sql, NodeAddress address)
    {
        var command = connection.CreateCommand(sql);
        command.AddParameter("cluster_id", _clusterId);
        command.AddParameter("node_id", address.NodeId);
        command.AddParameter("incarnation", address.Incarnation);
        return command;
    }
}

/// <summary>The membership statements, embedded next to this code in <c>Sql/Postgres/</c>.</summary>
internal static class MembershipSql
{
    public static readonly string Init = Load("membership-init");
    public static readonly string ReadAll = Load("membership-read-all");
    public static readonly string Insert = Load("membership-insert");
    public static readonly string Update = Load("membership-update");
    public static readonly string Heartbeat = Load("membership-heartbeat");
    public static readonly string DeclareDead = Load("membership-declare-dead");
    public static readonly string Cleanup = Load("membership-cleanup");

    private static string Load(string name) =>
        SqlScripts.Read(typeof(MembershipSql).Assembly, $"OrleansCodex.Cluster.Membership.Sql.Postgres.{name}.sql");
}
