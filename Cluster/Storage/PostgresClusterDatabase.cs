using System.Data.Common;
using Npgsql;

namespace OrleansCodex.Cluster.Storage;

/// <summary>The cluster database: PostgreSQL through one pooled <see cref="NpgsqlDataSource"/>.</summary>
public sealed class PostgresClusterDatabase(string connectionString) : ClusterDatabase
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    public override DatabaseKind Kind => DatabaseKind.Postgres;

    /// <summary>The underlying data source, for code that wants Npgsql-specific features (COPY, LISTEN).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
