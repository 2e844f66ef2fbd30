using System.Data.Common;
using System.Globalization;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Cluster.Tests.Storage;
using OrleansCodex.Testing.Postgres;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>Both providers get the membership and directory tables, so the schema is one whichever database a node uses.</summary>
public sealed class MembershipSchemaTests(PostgresDatabaseFixture postgres) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"membership-schema-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (System.IO.Directory.Exists(_directory))
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task Migrations_EitherProvider_CreateMembershipAndDirectoryTablesThatEnforceTheirKeys(DatabaseKind kind)
    {
        await using ClusterDatabase database = kind == DatabaseKind.Postgres
            ? new PostgresClusterDatabase(await postgres.Server.CreateDatabaseAsync())
            : new SqliteClusterDatabase(Path.Combine(_directory, "schema.db"));

        var applied = await MigrationRunnerTests.CreateRunner(database).MigrateAsync();
        await ExecuteAsync(database, "INSERT INTO cluster_version (cluster_id, version) VALUES ('c', 0)");
        await ExecuteAsync(database,
            "INSERT INTO cluster_members (cluster_id, node_id, incarnation, endpoint, host_name, status, etag, start_time, last_heartbeat) " +
            "VALUES ('c', 'n', 1, 'http://n', 'h', 'Active', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')");
        await ExecuteAsync(database,
            "INSERT INTO grain_directory (grain_type, grain_key, node_id, incarnation, endpoint, activation_id) VALUES ('t', 'k', 'n', 1, 'http://n', 'a')");
        var badStatus = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(database,
            "INSERT INTO cluster_members (cluster_id, node_id, incarnation, endpoint, host_name, status, etag, start_time, last_heartbeat) " +
            "VALUES ('c', 'n', 2, 'http://n', 'h', 'Sleeping', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')"));
        var duplicateGrain = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(database,
            "INSERT INTO grain_directory (grain_type, grain_key, node_id, incarnation, endpoint, activation_id) VALUES ('t', 'k', 'm', 1, 'http://m', 'b')"));

        Assert.Contains("cluster-002-membership", applied);
        Assert.Contains("cluster-003-grain-directory", applied);
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM grain_directory WHERE registered_at IS NOT NULL"));
        Assert.NotNull(badStatus);
        Assert.NotNull(duplicateGrain);
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task Migrations_EitherProvider_AddMetadataAndLoadColumnsThatDefaultToEmptyAndZero(DatabaseKind kind)
    {
        await using ClusterDatabase database = kind == DatabaseKind.Postgres
            ? new PostgresClusterDatabase(await postgres.Server.CreateDatabaseAsync())
            : new SqliteClusterDatabase(Path.Combine(_directory, "metadata.db"));

        var applied = await MigrationRunnerTests.CreateRunner(database).MigrateAsync();
        await ExecuteAsync(database, "INSERT INTO cluster_version (cluster_id, version) VALUES ('c', 0)");
        // A row written by a node that predates the columns.
        await ExecuteAsync(database,
            "INSERT INTO cluster_members (cluster_id, node_id, incarnation, endpoint, host_name, status, etag, start_time, last_heartbeat) " +
            "VALUES ('c', 'n', 1, 'http://n', 'h', 'Active', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')");
        var notAnObject = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(database,
            "INSERT INTO cluster_members (cluster_id, node_id, incarnation, endpoint, host_name, status, etag, start_time, last_heartbeat, metadata) " +
            "VALUES ('c', 'n', 2, 'http://n', 'h', 'Active', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', '[1, 2]')"));

        Assert.Equal(["cluster-001-grain-state", "cluster-002-membership", "cluster-003-grain-directory", "cluster-004-membership-metadata"],
            applied.Where(id => id.StartsWith("cluster-", StringComparison.Ordinal)));
        Assert.Equal(1L, await CountAsync(database,
            kind == DatabaseKind.Postgres
                ? "SELECT count(*) FROM cluster_members WHERE metadata = '{}'::jsonb AND load = 0"
                : "SELECT count(*) FROM cluster_members WHERE metadata = '{}' AND load = 0"));
        Assert.NotNull(notAnObject);
    }

    private static async Task ExecuteAsync(ClusterDatabase database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(ClusterDatabase database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
