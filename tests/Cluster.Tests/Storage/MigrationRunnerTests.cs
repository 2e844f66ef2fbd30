using System.Data.Common;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Testing.Postgres;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Storage;

public sealed class MigrationRunnerTests(PostgresDatabaseFixture postgres) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private const string ClusterPrefix = "OrleansCodex.Cluster.Storage.Sql";
    private const string TestPrefix = "OrleansCodex.Cluster.Tests.Storage.Sql";
    private static readonly string[] _clusterMigrationIds = ["cluster-001-grain-state", "cluster-002-membership", "cluster-003-grain-directory", "cluster-004-membership-metadata"];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"migration-tests-{Guid.NewGuid():N}");

    internal static MigrationRunner CreateRunner(ClusterDatabase database, params IMigrationSource[] extra) =>
        new(database, [new EmbeddedMigrationSource(typeof(MigrationRunner).Assembly, ClusterPrefix), .. extra], NullLogger<MigrationRunner>.Instance);

    private static IMigrationSource TestMigrations => new EmbeddedMigrationSource(typeof(MigrationRunnerTests).Assembly, TestPrefix);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public void EmbeddedMigrationSource_ProviderFolder_YieldsOnlyThatProvidersMigrations(DatabaseKind kind)
    {
        var migrations = new EmbeddedMigrationSource(typeof(MigrationRunner).Assembly, ClusterPrefix).GetMigrations(kind).ToList();

        Assert.Equal(_clusterMigrationIds, migrations.Select(m => m.Id).Order(StringComparer.Ordinal));
        Assert.Contains(kind == DatabaseKind.Postgres ? "jsonb" : "WITHOUT ROWID", migrations.Single(m => m.Id == "cluster-001-grain-state").Sql);
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task MigrateAsync_RunTwice_AppliesEachMigrationOnceInIdOrder(DatabaseKind kind)
    {
        await using var database = await CreateDatabaseAsync(kind);

        var first = await CreateRunner(database, TestMigrations).MigrateAsync();
        var second = await CreateRunner(database, TestMigrations).MigrateAsync();

        Assert.Equal([.. _clusterMigrationIds, "tests-001-widgets", "tests-002-widget-rows"], first);
        Assert.Empty(second);
        Assert.Equal(_clusterMigrationIds.Length + 2L, await CountAsync(database, "SELECT count(*) FROM schema_migrations"));
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM widgets"));
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task MigrateAsync_SeveralNodesAtOnce_ApplyEachMigrationExactlyOnce(DatabaseKind kind)
    {
        await using var seed = await CreateDatabaseAsync(kind);
        var databases = new List<ClusterDatabase>();
        for (var i = 0; i < 6; i++)
        {
            // One database object per "node": separate pools, as separate processes would have.
            databases.Add(kind == DatabaseKind.Postgres ? new PostgresClusterDatabase(_postgresConnectionString!) : new SqliteClusterDatabase(_sqlitePath!));
        }

        try
        {
            var applied = await Task.WhenAll(databases.Select(d => Task.Run(() => CreateRunner(d, TestMigrations).MigrateAsync())))
                .WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(_clusterMigrationIds.Length + 2, applied.Sum(a => a.Count));
            Assert.Equal(_clusterMigrationIds.Length + 2L, await CountAsync(seed, "SELECT count(*) FROM schema_migrations"));
            Assert.Equal(1L, await CountAsync(seed, "SELECT count(*) FROM widgets"));
        }
        finally
        {
            foreach (var database in databases)
            {
                await database.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task MigrateAsync_DuplicateIdFromAnotherSource_ThrowsNamingTheId()
    {
        await using var database = await CreateDatabaseAsync(DatabaseKind.Sqlite);
        var clash = new FixedMigrationSource(new Migration("cluster-001-grain-state", "SELECT 1"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateRunner(database, clash).MigrateAsync());

        Assert.Contains("cluster-001-grain-state", error.Message);
    }

    [Fact]
    public async Task MigrateAsync_FailingMigration_RollsBackAndNamesIt()
    {
        await using var database = await CreateDatabaseAsync(DatabaseKind.Postgres);
        var broken = new FixedMigrationSource(new Migration("zz-999-broken", "CREATE TABLE broken (id int); SELECT * FROM missing_table;"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateRunner(database, broken).MigrateAsync());
        var applied = await CreateRunner(database).MigrateAsync();

        Assert.Contains("zz-999-broken", error.Message);
        // The whole run was one transaction: the good migration before the broken one was rolled back too and applies now.
        Assert.Equal(_clusterMigrationIds, applied);
    }

    private string? _postgresConnectionString;
    private string? _sqlitePath;

    private async Task<ClusterDatabase> CreateDatabaseAsync(DatabaseKind kind)
    {
        if (kind == DatabaseKind.Postgres)
        {
            _postgresConnectionString = await postgres.Server.CreateDatabaseAsync();
            return new PostgresClusterDatabase(_postgresConnectionString);
        }

        _sqlitePath = Path.Combine(_directory, $"{Guid.NewGuid():N}.db");
        return new SqliteClusterDatabase(_sqlitePath);
    }

    private static async Task<long> CountAsync(ClusterDatabase database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class FixedMigrationSource(params Migration[] migrations) : IMigrationSource
    {
        public IEnumerable<Migration> GetMigrations(DatabaseKind kind) => migrations;
    }
}
