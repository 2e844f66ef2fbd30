using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Storage;

/// <summary>
/// Grain state in the <c>grain_state</c> table, one row per (grain type, key, state name), with an integer version as the ETag.
/// Every write is a compare-and-swap on that version. Clearing keeps the row as a tombstone (payload NULL, version bumped)
/// rather than deleting it, so versions never restart at 1 and a writer holding a pre-clear ETag can never match again (no ABA).
/// </summary>
public sealed class SqlGrainStorage(ClusterDatabase database, IOptions<GrainStorageOptions> options) : IGrainStorage
{
    private readonly JsonSerializerOptions _json = options.Value.SerializerOptions;
    private readonly GrainStateSql _sql = GrainStateSql.For(database.Kind);

    public async Task ReadStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new()
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = CreateCommand(connection, _sql.Read, stateName, grainId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(1))
        {
            record.State = JsonSerializer.Deserialize<TState>(reader.GetString(1), _json) ?? new TState();
            record.ETag = FormatVersion(reader.GetInt64(0));
            record.RecordExists = true;
        }
        else
        {
            record.State = new TState();
            record.ETag = null;
            record.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new()
    {
        var payload = JsonSerializer.Serialize(record.State, _json);
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        long? written;
        await using (var command = CreateCommand(connection, record.ETag is null ? _sql.Insert : _sql.Update, stateName, grainId))
        {
            command.AddParameter("payload", payload);
            if (record.ETag is not null)
            {
                command.AddParameter("expected", ParseVersion(record.ETag, stateName, grainId));
            }

            written = ToVersion(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
        }

        if (written is null)
        {
            throw await ConflictAsync(connection, "write", stateName, grainId, record.ETag, cancellationToken).ConfigureAwait(false);
        }

        record.ETag = FormatVersion(written.Value);
        record.RecordExists = true;
    }

    public async Task ClearStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new()
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (record.ETag is null)
        {
            // Nothing to delete as far as this writer knows; it is only a conflict if someone else stored a record meanwhile.
            var stored = await ReadLiveVersionAsync(connection, stateName, grainId, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                throw Conflict("clear", stateName, grainId, expected: null, FormatVersion(stored.Value));
            }
        }
        else
        {
            await using var command = CreateCommand(connection, _sql.Clear, stateName, grainId);
            command.AddParameter("expected", ParseVersion(record.ETag, stateName, grainId));
            if (ToVersion(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)) is null)
            {
                throw await ConflictAsync(connection, "clear", stateName, grainId, record.ETag, cancellationToken).ConfigureAwait(false);
            }
        }

        record.State = new TState();
        record.ETag = null;
        record.RecordExists = false;
    }

    private async Task<InconsistentStateException> ConflictAsync(
        DbConnection connection, string operation, string stateName, GrainId grainId, string? expected, CancellationToken cancellationToken)
    {
        var stored = await ReadLiveVersionAsync(connection, stateName, grainId, cancellationToken).ConfigureAwait(false);
        return Conflict(operation, stateName, grainId, expected, stored is null ? null : FormatVersion(stored.Value));
    }

    private static InconsistentStateException Conflict(string operation, string stateName, GrainId grainId, string? expected, string? stored) =>
        new($"Cannot {operation} state '{stateName}' of grain {grainId}: expected version {expected ?? "none"}, but storage has {stored ?? "none"}.",
            storedEtag: stored, currentEtag: expected);

    private async Task<long?> ReadLiveVersionAsync(DbConnection connection, string stateName, GrainId grainId, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(connection, _sql.ReadLiveVersion, stateName, grainId);
        return ToVersion(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
    }

    private static DbCommand CreateCommand(DbConnection connection, string sql, string stateName, GrainId grainId)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.AddParameter("grain_type", grainId.Type);
        command.AddParameter("grain_key", grainId.Key);
        command.AddParameter("state_name", stateName);
        return command;
    }

    private static long? ToVersion(object? scalar) => scalar is null or DBNull ? null : Convert.ToInt64(scalar, CultureInfo.InvariantCulture);

    private static string FormatVersion(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static long ParseVersion(string etag, string stateName, GrainId grainId) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new InconsistentStateException($"ETag '{etag}' of state '{stateName}' of grain {grainId} is not a version number.", storedEtag: null, currentEtag: etag);
}

/// <summary>The grain-state statements of one SQL dialect, loaded from the provider's embedded <c>.sql</c> files.</summary>
internal sealed record GrainStateSql(string Read, string ReadLiveVersion, string Insert, string Update, string Clear)
{
    private static readonly GrainStateSql _sqlite = Load(DatabaseKind.Sqlite);
    private static readonly GrainStateSql _postgres = Load(DatabaseKind.Postgres);

    public static GrainStateSql For(DatabaseKind kind) => kind == DatabaseKind.Postgres ? _postgres : _sqlite;

    private static GrainStateSql Load(DatabaseKind kind)
    {
        string Script(string name) => SqlScripts.Read(typeof(GrainStateSql).Assembly, $"OrleansCodex.Cluster.Storage.Sql.{kind}.Queries.{name}.sql");
        return new GrainStateSql(
            Script("grain-state-read"),
            Script("grain-state-read-live-version"),
            Script("grain-state-insert"),
            Script("grain-state-update"),
            Script("grain-state-clear"));
    }
}
