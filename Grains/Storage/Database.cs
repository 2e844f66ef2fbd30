using System.Data.Common;

namespace OrleansCodex.Grains.Storage;

/// <summary>Which SQL engine holds the cluster's data.</summary>
public enum DatabaseKind { Sqlite, Postgres }

/// <summary>
/// The one database of a node (SQLite file in single-node mode, PostgreSQL in a cluster).
/// Grain state, membership, the directory and application tables (e.g. conversations) all live here.
/// SQL written against it uses <c>@name</c> parameters, which both providers accept.
/// </summary>
public abstract class Database : IAsyncDisposable
{
    public abstract DatabaseKind Kind { get; }

    /// <summary>Opens a pooled connection; dispose it after use.</summary>
    public abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>One versioned schema change. Ids sort in apply order (e.g. <c>cluster-001-grain-state</c>).</summary>
public sealed record Migration(string Id, string Sql);

/// <summary>Supplies migrations for a subsystem; registered in DI and applied at start-up, each exactly once.</summary>
public interface IMigrationSource
{
    IEnumerable<Migration> GetMigrations(DatabaseKind kind);
}
