using Xunit;

namespace OrleansCodex.Testing.Postgres;

/// <summary>
/// A fresh, empty database on the process-wide <see cref="PostgresServer"/>. Use it as <c>IClassFixture&lt;PostgresDatabaseFixture&gt;</c>
/// (one database per test class) or in a collection of your test project:
/// <c>[CollectionDefinition("Postgres")] public sealed class PostgresCollection : ICollectionFixture&lt;PostgresDatabaseFixture&gt;;</c>
/// (xunit only sees collection definitions declared in the test assembly itself).
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private string? _connectionString;

    /// <summary>The shared server, for tests that need more databases (<see cref="PostgresServer.CreateDatabaseAsync"/>).</summary>
    public PostgresServer Server { get; private set; } = null!;

    /// <summary>Connects to this fixture's own database.</summary>
    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("The fixture is not initialised yet.");

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.GetSharedAsync();
        _connectionString = await Server.CreateDatabaseAsync();
    }

    // The server lives until the test process exits; the database is dropped with it.
    public Task DisposeAsync() => Task.CompletedTask;
}
