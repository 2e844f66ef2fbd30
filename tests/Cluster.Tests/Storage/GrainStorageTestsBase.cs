using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Storage;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Storage;

public sealed class TestState
{
    public string? Name { get; set; }

    public int Count { get; set; }

    public List<string> Items { get; set; } = [];
}

/// <summary>
/// The grain storage contract, run against every provider (like Orleans' <c>GrainStorageTestRunner</c>, whose test names it keeps).
/// </summary>
public abstract class GrainStorageTestsBase : IAsyncLifetime
{
    private ClusterDatabase? _database;

    protected SqlGrainStorage Storage { get; private set; } = null!;

    protected ClusterDatabase Database => _database!;

    protected abstract Task<ClusterDatabase> CreateDatabaseAsync();

    public async Task InitializeAsync()
    {
        _database = await CreateDatabaseAsync();
        await MigrationRunnerTests.CreateRunner(_database).MigrateAsync();
        Storage = new SqlGrainStorage(_database, Options.Create(new GrainStorageOptions()));
    }

    public virtual async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static GrainId NewGrainId() => new("storage-test", Guid.NewGuid().ToString("N"));

    private async Task<GrainStateRecord<TestState>> ReadAsync(GrainId grainId, string stateName = "state")
    {
        var record = new GrainStateRecord<TestState>();
        await Storage.ReadStateAsync(stateName, grainId, record);
        return record;
    }

    [Fact]
    public async Task ReadNonExistentStateHasNonNullState()
    {
        var record = await ReadAsync(NewGrainId());

        Assert.NotNull(record.State);
        Assert.Null(record.ETag);
        Assert.False(record.RecordExists);
    }

    [Fact]
    public async Task WriteDuplicateFails()
    {
        var grainId = NewGrainId();
        var first = await ReadAsync(grainId);
        var second = await ReadAsync(grainId);
        first.State.Name = "first";
        second.State.Name = "second";
        await Storage.WriteStateAsync("state", grainId, first);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("state", grainId, second));

        Assert.Null(error.CurrentEtag);
        Assert.Equal(first.ETag, error.StoredEtag);
        Assert.Equal("first", (await ReadAsync(grainId)).State.Name);
    }

    [Fact]
    public async Task WriteInconsistentFails()
    {
        var grainId = NewGrainId();
        var writer = await ReadAsync(grainId);
        await Storage.WriteStateAsync("state", grainId, writer);
        var stale = await ReadAsync(grainId);
        writer.State.Count = 1;
        await Storage.WriteStateAsync("state", grainId, writer);
        stale.State.Count = 99;

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("state", grainId, stale));

        Assert.Equal("1", error.CurrentEtag);
        Assert.Equal("2", error.StoredEtag);
        Assert.Contains("expected version 1, but storage has 2", error.Message);
        Assert.Equal(1, (await ReadAsync(grainId)).State.Count);
    }

    [Fact]
    public async Task ClearInconsistentFails()
    {
        var grainId = NewGrainId();
        var writer = await ReadAsync(grainId);
        await Storage.WriteStateAsync("state", grainId, writer);
        var stale = await ReadAsync(grainId);
        await Storage.WriteStateAsync("state", grainId, writer);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("state", grainId, stale));

        Assert.Equal(stale.ETag, error.CurrentEtag);
        Assert.Equal(writer.ETag, error.StoredEtag);
        Assert.True((await ReadAsync(grainId)).RecordExists);
    }

    [Fact]
    public async Task ClearWithoutETagWhenRecordExistsFails()
    {
        var grainId = NewGrainId();
        var writer = await ReadAsync(grainId);
        var unaware = await ReadAsync(grainId);
        await Storage.WriteStateAsync("state", grainId, writer);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("state", grainId, unaware));

        Assert.Null(error.CurrentEtag);
        Assert.Equal(writer.ETag, error.StoredEtag);
    }

    [Fact]
    public async Task ETagChangesOnWrite()
    {
        var grainId = NewGrainId();
        var record = await ReadAsync(grainId);
        record.State.Name = "a";
        await Storage.WriteStateAsync("state", grainId, record);
        var firstETag = record.ETag;
        record.State.Name = "b";
        await Storage.WriteStateAsync("state", grainId, record);

        var read = await ReadAsync(grainId);

        Assert.NotNull(firstETag);
        Assert.NotEqual(firstETag, record.ETag);
        Assert.Equal(record.ETag, read.ETag);
        Assert.True(read.RecordExists);
        Assert.Equal("b", read.State.Name);
    }

    [Fact]
    public async Task WriteWithSameValuesUpdatesETag()
    {
        var grainId = NewGrainId();
        var record = await ReadAsync(grainId);
        record.State.Count = 7;
        await Storage.WriteStateAsync("state", grainId, record);
        var firstETag = record.ETag;

        await Storage.WriteStateAsync("state", grainId, record);

        Assert.NotEqual(firstETag, record.ETag);
        Assert.Equal(record.ETag, (await ReadAsync(grainId)).ETag);
    }

    [Fact]
    public async Task ClearUpdatesETag()
    {
        var grainId = NewGrainId();
        var record = await ReadAsync(grainId);
        record.State.Items.Add("x");
        await Storage.WriteStateAsync("state", grainId, record);
        var staleHolder = await ReadAsync(grainId);

        await Storage.ClearStateAsync("state", grainId, record);
        var afterClear = await ReadAsync(grainId);
        await Storage.WriteStateAsync("state", grainId, record);

        Assert.Null(afterClear.ETag);
        Assert.False(afterClear.RecordExists);
        Assert.Empty(afterClear.State.Items);
        Assert.Empty(record.State.Items);
        // Versions keep growing across a clear, so a writer from before it can never match again.
        Assert.Equal("3", record.ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("state", grainId, staleHolder));
    }

    [Fact]
    public async Task StateNamesUseIndependentRecords()
    {
        var grainId = NewGrainId();
        var alpha = await ReadAsync(grainId, "alpha");
        alpha.State.Name = "alpha";
        await Storage.WriteStateAsync("alpha", grainId, alpha);
        await Storage.WriteStateAsync("alpha", grainId, alpha);
        var beta = await ReadAsync(grainId, "beta");
        beta.State.Name = "beta";
        await Storage.WriteStateAsync("beta", grainId, beta);

        Assert.Equal("alpha", (await ReadAsync(grainId, "alpha")).State.Name);
        Assert.Equal("beta", (await ReadAsync(grainId, "beta")).State.Name);
        Assert.Equal("2", alpha.ETag);
        Assert.Equal("1", beta.ETag);
    }

    [Fact]
    public async Task WriteReadWriteReadStatesInParallel()
    {
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var grainId = NewGrainId();
            var record = await ReadAsync(grainId);
            record.State.Count = i;
            await Storage.WriteStateAsync("state", grainId, record);
            var read = await ReadAsync(grainId);
            Assert.Equal(i, read.State.Count);
            read.State.Items.Add($"item-{i}");
            await Storage.WriteStateAsync("state", grainId, read);
            var again = await ReadAsync(grainId);
            Assert.Equal([$"item-{i}"], again.State.Items);
            Assert.Equal("2", again.ETag);
        }))).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task PersistentState_WriteClearRead_FollowsStorage()
    {
        var grainId = NewGrainId();
        var state = new PersistentState<TestState>("handle", grainId, Storage);
        await state.ReadStateAsync();
        state.State.Name = "kept";

        await state.WriteStateAsync();
        var other = new PersistentState<TestState>("handle", grainId, Storage);
        await other.ReadStateAsync();
        await state.ClearStateAsync();

        Assert.Equal("kept", other.State.Name);
        Assert.Equal("1", other.Etag);
        Assert.Null(state.Etag);
        Assert.False(state.RecordExists);
        Assert.Null(state.State.Name);
    }
}

public sealed class SqliteGrainStorageTests : GrainStorageTestsBase
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"storage-tests-{Guid.NewGuid():N}");

    protected override Task<ClusterDatabase> CreateDatabaseAsync() =>
        Task.FromResult<ClusterDatabase>(new SqliteClusterDatabase(Path.Combine(_directory, "nested", "state.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Sqlite_Open_UsesWalBusyTimeoutAndForeignKeys()
    {
        await using var connection = await Database.OpenConnectionAsync();

        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode"));
        Assert.Equal("5000", await ScalarAsync(connection, "PRAGMA busy_timeout"));
        Assert.Equal("1", await ScalarAsync(connection, "PRAGMA foreign_keys"));
    }

    private static async Task<string?> ScalarAsync(System.Data.Common.DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed class PostgresGrainStorageTests(OrleansCodex.Testing.Postgres.PostgresDatabaseFixture postgres)
    : GrainStorageTestsBase, IClassFixture<OrleansCodex.Testing.Postgres.PostgresDatabaseFixture>
{
    protected override Task<ClusterDatabase> CreateDatabaseAsync() =>
        Task.FromResult<ClusterDatabase>(new PostgresClusterDatabase(postgres.ConnectionString));
}
