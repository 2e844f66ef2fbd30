using System.Data.Common;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>
/// The grain directory in PostgreSQL (<c>grain_directory</c>, migration <c>cluster-003-grain-directory</c>), judged against the
/// <c>cluster_members</c> rows of <see cref="MembershipOptions.ClusterId"/> in the same database.
/// </summary>
public sealed class PostgresGrainDirectory : IGrainDirectory
{
    // A lost registration is followed by a read of the winner; it only comes back empty if the winner vanished in between.
    private const int MaxRegisterAttempts = 10;

    private readonly ClusterDatabase _database;
    private readonly string _clusterId;

    public PostgresGrainDirectory(ClusterDatabase database, IOptions<MembershipOptions> options)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        if (database.Kind != DatabaseKind.Postgres)
        {
            throw new ArgumentException($"{nameof(PostgresGrainDirectory)} needs a PostgreSQL database, not {database.Kind}.", nameof(database));
        }

        _database = database;
        _clusterId = options.Value.ClusterId;
    }

    public async Task<GrainDirectoryEntry> RegisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; attempt <= MaxRegisterAttempts; attempt++)
        {
            await using (var command = CreateEntryCommand(connection, GrainDirectorySql.Register, entry))
            {
                command.AddParameter("endpoint", entry.Endpoint);
                if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not (null or DBNull))
                {
                    return entry;
                }
            }

            // A separate statement, so it sees the row that beat us even if that committed after our insert began.
            if (await LookupAsync(connection, entry.GrainId, cancellationToken).ConfigureAwait(false) is { } winner)
            {
                return winner;
            }
        }

        throw new InvalidOperationException(
            $"Registering {entry.GrainId} on {entry.Node} lost {MaxRegisterAttempts} times to registrations that vanished at once.");
    }

    public async Task<GrainDirectoryEntry?> LookupAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await LookupAsync(connection, grainId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> UnregisterAsync(GrainDirectoryEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateEntryCommand(connection, GrainDirectorySql.Unregister, entry);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<int> RemoveEntriesOfAsync(NodeAddress node, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(GrainDirectorySql.RemoveNode);
        command.AddParameter("cluster_id", _clusterId);
        command.AddParameter("node_id", node.NodeId);
        command.AddParameter("incarnation", node.Incarnation);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<GrainDirectoryEntry?> LookupAsync(DbConnection connection, GrainId grainId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(GrainDirectorySql.Lookup);
        command.AddParameter("cluster_id", _clusterId);
        command.AddParameter("grain_type", grainId.Type);
        command.AddParameter("grain_key", grainId.Key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new GrainDirectoryEntry(grainId, new NodeAddress(reader.GetString(0), reader.GetInt64(1)), reader.GetString(2), reader.GetString(3));
    }

    private DbCommand CreateEntryCommand(DbConnection connection, string sql, GrainDirectoryEntry entry)
    {
        var command = connection.CreateCommand(sql);
        command.AddParameter("cluster_id", _clusterId);
        command.AddParameter("grain_type", entry.GrainId.Type);
        command.AddParameter("grain_key", entry.GrainId.Key);
        command.AddParameter("node_id", entry.Node.NodeId);
        command.AddParameter("incarnation", entry.Node.Incarnation);
        command.AddParameter("activation_id", entry.ActivationId);
        return command;
    }
}

/// <summary>The directory statements, embedded next to this code in <c>Sql/Postgres/</c>.</summary>
internal static class GrainDirectorySql
{
    public static readonly string Register = Load("directory-register");
    public static readonly string Lookup = Load("directory-lookup");
    public static readonly string Unregister = Load("directory-unregister");
    public static readonly string RemoveNode = Load("directory-remove-node");

    private static string Load(string name) =>
        SqlScripts.Read(typeof(GrainDirectorySql).Assembly, $"OrleansCodex.Cluster.GrainDirectory.Sql.Postgres.{name}.sql");
}
