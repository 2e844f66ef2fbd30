using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Storage;

/// <summary>
/// Applies every registered <see cref="IMigrationSource"/>'s migrations in ordinal id order, each exactly once, recorded in
/// <c>schema_migrations</c>. All of it runs in one transaction that first takes a database-wide lock (a PostgreSQL advisory
/// lock; SQLite's write lock via <c>BEGIN IMMEDIATE</c>), so several nodes starting at once apply each migration once and a
/// failed migration leaves nothing half-applied.
/// </summary>
public sealed class MigrationRunner(Database database, IEnumerable<IMigrationSource> sources, ILogger<MigrationRunner> logger)
{
    // Arbitrary but fixed: every node must contend for the same advisory lock ("OCmigr" in ASCII).
    private const long AdvisoryLockKey = 0x4F_43_6D_69_67_72;

    /// <summary>Brings the schema up to date; returns the ids applied by this call (empty when it was already current).</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var migrations = CollectMigrations();
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        if (database.Kind == DatabaseKind.Postgres)
        {
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction,
                "CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ExecuteAsync(connection, transaction,
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                cancellationToken).ConfigureAwait(false);
        }

        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = CreateCommand(connection, transaction, "SELECT id FROM schema_migrations"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetString(0));
            }
        }

        var appliedNow = new List<string>();
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Id)))
        {
            try
            {
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
            }
            catch (DbException ex)
            {
                throw new InvalidOperationException($"Migration '{migration.Id}' failed on {database.Kind}: {ex.Message}", ex);
            }

            await using var record = CreateCommand(connection, transaction, "INSERT INTO schema_migrations (id) VALUES (@id)");
            var id = record.CreateParameter();
            id.ParameterName = "id";
            id.Value = migration.Id;
            record.Parameters.Add(id);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            appliedNow.Add(migration.Id);
            logger.MigrationApplied(migration.Id, database.Kind);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (appliedNow.Count == 0)
        {
            logger.SchemaUpToDate(migrations.Count, database.Kind);
        }

        return appliedNow;
    }

    private List<Migration> CollectMigrations()
    {
        var migrations = new List<Migration>();
        var owners = new Dictionary<string, IMigrationSource>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            foreach (var migration in source.GetMigrations(database.Kind))
            {
                if (owners.TryGetValue(migration.Id, out var other))
                {
                    // The same assembly registered twice is harmless; two areas choosing one id would silently skip one of them.
                    if (other.ToString() == source.ToString())
                    {
                        continue;
                    }

                    throw new InvalidOperationException($"Migration id '{migration.Id}' is supplied by both {other} and {source}; ids must be unique.");
                }

                owners.Add(migration.Id, source);
                migrations.Add(migration);
            }
        }

        migrations.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return migrations;
    }

    private static DbCommand CreateCommand(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

internal static partial class MigrationLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Applied migration {MigrationId} on {Kind}")]
    public static partial void MigrationApplied(this ILogger logger, string migrationId, DatabaseKind kind);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Schema is up to date ({Count} migrations) on {Kind}")]
    public static partial void SchemaUpToDate(this ILogger logger, int count, DatabaseKind kind);
}
