using System.Data.Common;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using OrleansCodex.Grains.Storage;
using OrleansCodex.Silo.Hosting;
using OrleansCodex.Silo.Tests.Hosting;
using OrleansCodex.Testing.Postgres;

namespace OrleansCodex.Silo.Tests.Storage;

/// <summary>
/// One silo wired as the service wires it (<c>AddOrleansCodexSilo</c>, single node): the schema by our migration runner, grain
/// state in the ADO.NET storage "state" on the configured engine. <see cref="RestartAsync"/> replaces it by a new silo on the same database.
/// </summary>
public abstract class StateSiloFixture : IAsyncLifetime
{
    private CodexHost? _host;

    protected string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"silo-state-tests-{Guid.NewGuid():N}");

    public CodexHost Host => _host ?? throw new InvalidOperationException("The silo is not started.");

    public IGrainFactory Grains => Host.Grains;

    /// <summary>The storage grains use, as Orleans resolves it for <c>[PersistentState(…, "state")]</c>.</summary>
    public IGrainStorage Storage => Host.Services.GetRequiredKeyedService<IGrainStorage>("state");

    public Database Database => Host.Services.GetRequiredService<Database>();

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async Task InitializeAsync() => _host = await CodexHost.StartSiloAsync(await SettingsAsync());

    public async Task RestartAsync()
    {
        await Host.DisposeAsync();
        _host = null;
        _host = await CodexHost.StartSiloAsync(await SettingsAsync());
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}

public sealed class SqliteStateSiloFixture : StateSiloFixture
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Cluster:NodeId"] = "state-sqlite",
        ["Storage:Provider"] = "Sqlite",
        ["Storage:DataDirectory"] = DataDirectory,
    });
}

public sealed class PostgresStateSiloFixture : StateSiloFixture
{
    private string? _connectionString;

    protected override async Task<Dictionary<string, string?>> SettingsAsync()
    {
        _connectionString ??= await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync();
        return new Dictionary<string, string?>
        {
            ["Cluster:NodeId"] = "state-postgres",
            ["Storage:Provider"] = "Postgres",
            ["Storage:DataDirectory"] = DataDirectory,
            ["ConnectionStrings:Postgres"] = _connectionString,
        };
    }
}

/// <summary>
/// The grain state contract conversations rely on, on each engine, through a real silo: what a grain wrote is what its next
/// activation (or the next silo on the same database) reads, and a write based on an old version fails with
/// <see cref="InconsistentStateException"/> instead of overwriting a newer one.
/// </summary>
public abstract class GrainStateContractTestsBase(StateSiloFixture silo)
{
    private static readonly TimeSpan _wait = TestTimeouts.Wait;

    private static GrainId StorageGrainId(string key) => GrainId.Create("statetest", key);

    // Not a bare GUID: Orleans' ADO.NET storage would then store it as a GUID key instead of the string.
    private static string NewKey() => $"state-{Guid.NewGuid():N}";

    private async Task<GrainState<TestState>> ReadAsync(GrainId grainId)
    {
        var record = new GrainState<TestState>(new TestState());
        await silo.Storage.ReadStateAsync("x", grainId, record).WaitAsync(_wait);
        return record;
    }

    [Fact]
    public async Task PersistentState_Written_NextActivationReadsItBack()
    {
        var grain = silo.Grains.GetGrain<IStateTestGrain>(NewKey());
        var written = await grain.Write("kept").WaitAsync(_wait);

        await grain.Deactivate().WaitAsync(_wait);
        var read = await grain.Read().WaitAsync(_wait);

        Assert.NotEqual(written.Activation, read.Activation);
        Assert.Equal(("kept", 1, true), (read.Name, read.Count, read.RecordExists));
        Assert.Equal(written.ETag, read.ETag);
    }

    [Fact]
    public async Task PersistentState_NeverWritten_ReadsEmptyStateWithoutETag()
    {
        var read = await silo.Grains.GetGrain<IStateTestGrain>(NewKey()).Read().WaitAsync(_wait);

        Assert.Equal((null, 0, null, false), (read.Name, read.Count, read.ETag, read.RecordExists));
    }

    [Fact]
    public async Task PersistentState_SiloRestartedOnTheSameDatabase_StateSurvives()
    {
        var key = NewKey();
        await silo.Grains.GetGrain<IStateTestGrain>(key).Write("first").WaitAsync(_wait);
        var written = await silo.Grains.GetGrain<IStateTestGrain>(key).Write("second").WaitAsync(_wait);

        await silo.RestartAsync();
        var read = await silo.Grains.GetGrain<IStateTestGrain>(key).Read().WaitAsync(_wait);

        Assert.Equal(("second", 2, written.ETag), (read.Name, read.Count, read.ETag));
    }

    [Fact]
    public async Task GrainStorage_TwoWritesFromTheSameOldETag_SecondThrowsInconsistentState()
    {
        var grainId = StorageGrainId(NewKey());
        var initial = await ReadAsync(grainId);
        await silo.Storage.WriteStateAsync("x", grainId, initial).WaitAsync(_wait);
        var first = await ReadAsync(grainId);
        var second = await ReadAsync(grainId);
        first.State!.Name = "first";
        second.State!.Name = "second";

        await silo.Storage.WriteStateAsync("x", grainId, first).WaitAsync(_wait);
        await Assert.ThrowsAsync<InconsistentStateException>(() => silo.Storage.WriteStateAsync("x", grainId, second).WaitAsync(_wait));

        Assert.Equal(initial.ETag, second.ETag);
        Assert.NotEqual(initial.ETag, first.ETag);
        Assert.Equal("first", (await ReadAsync(grainId)).State!.Name);
    }

    [Fact]
    public async Task GrainStorage_TwoFirstWritesWithoutETag_SecondThrowsInconsistentState()
    {
        var grainId = StorageGrainId(NewKey());
        var first = await ReadAsync(grainId);
        var second = await ReadAsync(grainId);
        first.State!.Name = "first";
        second.State!.Name = "second";

        await silo.Storage.WriteStateAsync("x", grainId, first).WaitAsync(_wait);

        await Assert.ThrowsAsync<InconsistentStateException>(() => silo.Storage.WriteStateAsync("x", grainId, second).WaitAsync(_wait));
        Assert.Equal("first", (await ReadAsync(grainId)).State!.Name);
    }

    [Fact]
    public async Task GrainStorage_ClearWithAnOldETag_ThrowsInconsistentStateAndKeepsTheRecord()
    {
        var grainId = StorageGrainId(NewKey());
        var writer = await ReadAsync(grainId);
        await silo.Storage.WriteStateAsync("x", grainId, writer).WaitAsync(_wait);
        var stale = await ReadAsync(grainId);
        await silo.Storage.WriteStateAsync("x", grainId, writer).WaitAsync(_wait);

        await Assert.ThrowsAsync<InconsistentStateException>(() => silo.Storage.ClearStateAsync("x", grainId, stale).WaitAsync(_wait));

        Assert.True((await ReadAsync(grainId)).RecordExists);
    }

    [Fact]
    public async Task PersistentState_ChangedBehindTheActivationsBack_WriteFailsAndTheNextCallRereads()
    {
        var key = NewKey();
        var grain = silo.Grains.GetGrain<IStateTestGrain>(key);
        var mine = await grain.Write("mine").WaitAsync(_wait);
        // Another writer (e.g. an activation elsewhere that a partition let live) moves the state on.
        var grainId = grain.GetGrainId();
        var theirs = await ReadAsync(grainId);
        theirs.State!.Name = "theirs";
        await silo.Storage.WriteStateAsync("x", grainId, theirs).WaitAsync(_wait);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Write("lost").WaitAsync(_wait));
        var after = await grain.Read().WaitAsync(_wait);

        // The stale activation was dropped; the next one read what the other writer stored.
        Assert.NotEqual(mine.Activation, after.Activation);
        Assert.Equal(("theirs", theirs.ETag), (after.Name, after.ETag));
    }

    [Fact]
    public async Task PersistentState_Stored_AsJsonUnderTheFixedServiceId()
    {
        var grain = silo.Grains.GetGrain<IStateTestGrain>(NewKey());

        await grain.Write("json").WaitAsync(_wait);
        var (serviceId, payload) = await ReadStoredRowAsync(grain.GetPrimaryKeyString());

        // The service id is part of every key: state written under another one would be invisible after an upgrade.
        Assert.Equal(ClusterNodeOptions.ServiceId, serviceId);
        using var json = JsonDocument.Parse(payload);
        Assert.Equal("json", json.RootElement.GetProperty("Name").GetString());
    }

    private async Task<(string ServiceId, byte[] Payload)> ReadStoredRowAsync(string key)
    {
        await using var connection = await silo.Database.OpenConnectionAsync();
        await using DbCommand command = connection.CreateCommand(
            "SELECT ServiceId, PayloadBinary FROM OrleansStorage WHERE GrainIdExtensionString = @key AND GrainTypeString = 'x'");
        command.AddParameter("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, byte[])>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return Assert.Single(rows);
    }
}

public sealed class SqliteGrainStateContractTests(SqliteStateSiloFixture silo) : GrainStateContractTestsBase(silo), IClassFixture<SqliteStateSiloFixture>;

public sealed class PostgresGrainStateContractTests(PostgresStateSiloFixture silo) : GrainStateContractTestsBase(silo), IClassFixture<PostgresStateSiloFixture>;
