using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace OrleansCodex.Grains.Storage;

/// <summary>The single-node database: one SQLite file in WAL mode, so readers never wait for the one writer.</summary>
public sealed class SqliteDatabase : Database
{
    private readonly string _connectionString;
    private volatile bool _walEnabled;

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>The connection string of the file, for the Orleans ADO.NET providers that open their own connections.</summary>
    public string ConnectionString => _connectionString;

    public override DatabaseKind Kind => DatabaseKind.Sqlite;

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // busy_timeout and foreign_keys are per connection; WAL is stored in the file, so once per process is enough.
            await using var command = connection.CreateCommand();
            command.CommandText = _walEnabled
                ? "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
                : "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _walEnabled = true;
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled handles keep the file (and its -wal/-shm companions) open; release them so the file can be deleted or moved.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
