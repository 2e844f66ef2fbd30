using System.Data.Common;
using Npgsql;

namespace OrleansCodex.Grains.Storage;

/// <summary>The cluster database: PostgreSQL through one pooled <see cref="NpgsqlDataSource"/>.</summary>
public sealed class PostgresDatabase(string connectionString) : Database
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    public override DatabaseKind Kind => DatabaseKind.Postgres;

    /// <summary>The connection string, for the Orleans ADO.NET providers that open their own connections. Never logged.</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>The underlying data source, for code that wants Npgsql-specific features (COPY, LISTEN).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
