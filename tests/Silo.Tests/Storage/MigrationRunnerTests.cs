using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Storage;
using OrleansCodex.Silo.Hosting;
using OrleansCodex.Testing.Postgres;

namespace OrleansCodex.Silo.Tests.Storage;

/// <summary>
/// The schema a node starts on: every migration of every registered source applied once, in id order, in one transaction, and
/// the result one Orleans' ADO.NET providers can use. Run against SQLite and PostgreSQL alike.
/// </summary>
public abstract class MigrationRunnerTestsBase : IAsyncLifetime
{
    private const string TestPrefix = "OrleansCodex.Silo.Tests.Storage.Sql";

    /// <summary>The queries Orleans' grain storage loads from <c>OrleansQuery</c> at start (AdoNetGrainStorage.DefaultInitializationQuery; DeleteStorageKey is optional).</summary>
    private static readonly string[] _storageQueryKeys = ["WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey"];

    private readonly List<Database> _databases = [];

    protected abstract DatabaseKind Kind { get; }

    /// <summary>Migrations of the real sources that must be there for this engine (a subset: new ones may be added).</summary>
    protected abstract string[] KnownMigrationIds { get; }

    /// <summary>A new, empty database of this engine.</summary>
    protected abstract Task<Database> CreateEmptyDatabaseAsync();

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>The sources the silo registers: Orleans' scripts (Silo) and the conversations' tables (Grains).</summary>
    internal static IMigrationSource[] RealSources =>
    [
        new EmbeddedMigrationSource(typeof(SiloHostingExtensions).Assembly, "OrleansCodex.Silo.Storage.Sql"),
        new EmbeddedMigrationSource(typeof(ConversationGrain).Assembly, "OrleansCodex.Grains.Conversations.Sql"),
    ];

    internal static MigrationRunner CreateRunner(Database database, params IMigrationSource[] extra) =>
        new(database, [.. RealSources, .. extra], NullLogger<MigrationRunner>.Instance);

    protected static IMigrationSource TestMigrations => new EmbeddedMigrationSource(typeof(MigrationRunnerTestsBase).Assembly, TestPrefix);

    protected async Task<Database> NewDatabaseAsync()
    {
        var database = await CreateEmptyDatabaseAsync();
        _databases.Add(database);
        return database;
    }

    protected Database Track(Database database)
    {
        _databases.Add(database);
        return database;
    }

    [Fact]
    public void EmbeddedMigrationSource_ProviderFolder_YieldsThatEnginesMigrationsOnly()
    {
        var ids = RealSources.SelectMany(s => s.GetMigrations(Kind)).Select(m => m.Id).ToList();
        var tests = TestMigrations.GetMigrations(Kind).ToList();

        Assert.All(KnownMigrationIds, id => Assert.Contains(id, ids));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["tests-001-widgets", "tests-002-widget-rows"], tests.Select(m => m.Id).Order(StringComparer.Ordinal));
        Assert.Contains(Kind == DatabaseKind.Postgres ? "integer PRIMARY KEY" : "INTEGER PRIMARY KEY", tests.Single(m => m.Id == "tests-001-widgets").Sql);
    }

    [Fact]
    public async Task MigrateAsync_RunTwice_AppliesEachMigrationOnceInIdOrder()
    {
        var database = await NewDatabaseAsync();
        var expected = RealSources.Append(TestMigrations).SelectMany(s => s.GetMigrations(Kind)).Select(m => m.Id).Order(StringComparer.Ordinal).ToList();

        var first = await CreateRunner(database, TestMigrations).MigrateAsync().WaitAsync(TestTimeouts.Wait);
        var second = await CreateRunner(database, TestMigrations).MigrateAsync().WaitAsync(TestTimeouts.Wait);

        Assert.Equal(expected, first);
        Assert.Equal(["tests-001-widgets", "tests-002-widget-rows"], first.TakeLast(2));
        Assert.Empty(second);
        Assert.Equal(expected, await ReadColumnAsync(database, "SELECT id FROM schema_migrations ORDER BY id"));
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM widgets"));
    }

    [Fact]
    public async Task MigrateAsync_NewMigrationAddedLater_AppliesOnlyTheNewOne()
    {
        var database = await NewDatabaseAsync();
        await CreateRunner(database).MigrateAsync().WaitAsync(TestTimeouts.Wait);

        var applied = await CreateRunner(database, TestMigrations).MigrateAsync().WaitAsync(TestTimeouts.Wait);

        Assert.Equal(["tests-001-widgets", "tests-002-widget-rows"], applied);
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM widgets"));
    }

    [Fact]
    public async Task MigrateAsync_FailingMigration_RollsBackEverythingAndNamesIt()
    {
        var database = await NewDatabaseAsync();
        var broken = new FixedMigrationSource(new Migration("zz-999-broken", "CREATE TABLE broken (id int); SELECT * FROM missing_table;"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateRunner(database, TestMigrations, broken).MigrateAsync().WaitAsync(TestTimeouts.Wait));
        var tablesAfterFailure = await TableNamesAsync(database);
        var applied = await CreateRunner(database, TestMigrations).MigrateAsync().WaitAsync(TestTimeouts.Wait);

        Assert.Contains("zz-999-broken", error.Message);
        Assert.Contains(Kind.ToString(), error.Message);
        // One transaction: the migrations before the broken one, and the broken one's first statement, were rolled back too.
        Assert.DoesNotContain("broken", tablesAfterFailure);
        Assert.DoesNotContain("widgets", tablesAfterFailure);
        Assert.DoesNotContain("schema_migrations", tablesAfterFailure);
        Assert.Contains("tests-002-widget-rows", applied);
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM widgets"));
    }

    [Fact]
    public async Task MigrateAsync_DuplicateIdFromAnotherSource_ThrowsNamingTheId()
    {
        var database = await NewDatabaseAsync();
        var clash = new FixedMigrationSource(new Migration("orleans-001-main", "SELECT 1"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateRunner(database, clash).MigrateAsync().WaitAsync(TestTimeouts.Wait));

        Assert.Contains("orleans-001-main", error.Message);
    }

    [Fact]
    public async Task MigrateAsync_SameAssemblyRegisteredTwice_AppliesItsMigrationsOnce()
    {
        var database = await NewDatabaseAsync();

        var applied = await CreateRunner(database, [.. RealSources]).MigrateAsync().WaitAsync(TestTimeouts.Wait);

        Assert.Equal(applied.Count, applied.Distinct(StringComparer.Ordinal).Count());
        Assert.All(KnownMigrationIds, id => Assert.Contains(id, applied));
    }

    [Fact]
    public async Task RealSources_Migrated_OrleansQueryHoldsTheGrainStorageQueries()
    {
        var database = await NewDatabaseAsync();

        await CreateRunner(database).MigrateAsync().WaitAsync(TestTimeouts.Wait);
        var keys = await ReadColumnAsync(database, "SELECT QueryKey FROM OrleansQuery");

        Assert.All(_storageQueryKeys, key => Assert.Contains(key, keys));
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM OrleansStorage"));
    }

    protected static async Task<long> CountAsync(Database database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using DbCommand command = connection.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    protected static async Task<List<string>> ReadColumnAsync(Database database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using DbCommand command = connection.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private Task<List<string>> TableNamesAsync(Database database) => ReadColumnAsync(database, Kind == DatabaseKind.Postgres
        ? "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
        : "SELECT name FROM sqlite_master WHERE type = 'table'");

    protected sealed class FixedMigrationSource(params Migration[] migrations) : IMigrationSource
    {
        public IEnumerable<Migration> GetMigrations(DatabaseKind kind) => migrations;
    }
}

public sealed class SqliteMigrationRunnerTests : MigrationRunnerTestsBase
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"silo-migration-tests-{Guid.NewGuid():N}");

    protected override DatabaseKind Kind => DatabaseKind.Sqlite;

    protected override string[] KnownMigrationIds =>
        ["grains-001-responses", "orleans-000-retire-own-runtime", "orleans-001-main", "orleans-003-persistence"];

    protected override Task<Database> CreateEmptyDatabaseAsync() =>
        Task.FromResult<Database>(new SqliteDatabase(Path.Combine(_directory, $"{Guid.NewGuid():N}.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void EmbeddedMigrationSource_Sqlite_HasNoClusteringScript()
    {
        // A single node uses localhost clustering: the PostgreSQL-only membership script must not leak into SQLite.
        var ids = RealSources.SelectMany(s => s.GetMigrations(DatabaseKind.Sqlite)).Select(m => m.Id);

        Assert.DoesNotContain("orleans-002-clustering", ids);
    }
}

public sealed class PostgresMigrationRunnerTests(PostgresDatabaseFixture postgres) : MigrationRunnerTestsBase, IClassFixture<PostgresDatabaseFixture>
{
    /// <summary>What Orleans' ADO.NET clustering reads from <c>OrleansQuery</c> (src/AdoNet/Shared/Storage/DbStoredQueries.cs, 10.4.x).</summary>
    private static readonly string[] _clusteringQueryKeys =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
    ];

    protected override DatabaseKind Kind => DatabaseKind.Postgres;

    protected override string[] KnownMigrationIds =>
        ["grains-001-responses", "orleans-000-retire-own-runtime", "orleans-001-main", "orleans-002-clustering", "orleans-003-persistence"];

    protected override async Task<Database> CreateEmptyDatabaseAsync() => new PostgresDatabase(await postgres.Server.CreateDatabaseAsync());

    /// <summary>Another pool onto the same database, as a second node would have.</summary>
    private static Database OpenAgain(Database database) => new PostgresDatabase(((PostgresDatabase)database).ConnectionString);

    [Fact]
    public async Task MigrateAsync_SixNodesAtOnce_ApplyEachMigrationExactlyOnce()
    {
        var seed = await NewDatabaseAsync();
        // One database object per "node": separate pools and connections, as separate processes would have.
        var nodes = Enumerable.Range(0, 6).Select(_ => Track(OpenAgain(seed))).ToList();
        var expected = CreateRunnerIds();

        var applied = await Task.WhenAll(nodes.Select(node => Task.Run(() => CreateRunner(node, TestMigrations).MigrateAsync())))
            .WaitAsync(TestTimeouts.Wait);

        // Each migration was applied by exactly one node (the advisory lock serialised them), the others found it done.
        Assert.Equal(expected, applied.SelectMany(a => a).Order(StringComparer.Ordinal));
        Assert.Single(applied, a => a.Count > 0);
        Assert.Equal(expected, await ReadColumnAsync(seed, "SELECT id FROM schema_migrations ORDER BY id"));
        Assert.Equal(1L, await CountAsync(seed, "SELECT count(*) FROM widgets"));
    }

    [Fact]
    public async Task RealSources_Migrated_OrleansQueryHoldsTheClusteringQueries()
    {
        var database = await NewDatabaseAsync();

        await CreateRunner(database).MigrateAsync().WaitAsync(TestTimeouts.Wait);
        var keys = await ReadColumnAsync(database, "SELECT QueryKey FROM OrleansQuery");

        Assert.All(_clusteringQueryKeys, key => Assert.Contains(key, keys));
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM OrleansMembershipTable"));
    }

    private static List<string> CreateRunnerIds() => RealSources.Append(TestMigrations)
        .SelectMany(s => s.GetMigrations(DatabaseKind.Postgres)).Select(m => m.Id).Order(StringComparer.Ordinal).ToList();
}
