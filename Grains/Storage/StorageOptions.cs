

namespace OrleansCodex.Grains.Storage;

/// <summary>Where the node's database lives, bound from the <c>Storage</c> section (plus <c>ConnectionStrings:Postgres</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary><c>Sqlite</c> (single node) or <c>Postgres</c> (cluster). Kept as text so a wrong value gets a clear validation message.</summary>
    /// <value><c>Sqlite</c> by default.</value>
    public string Provider { get; set; } = nameof(DatabaseKind.Sqlite);

    /// <summary>Directory for the node's local files.</summary>
    /// <value><c>data</c> (relative to the working directory) by default.</value>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The SQLite database file.</summary>
    /// <value><c>{DataDirectory}/orleanscodex.db</c> when not set.</value>
    public string? SqlitePath { get; set; }

    /// <summary>The PostgreSQL connection string, from <c>ConnectionStrings:Postgres</c>; required when <see cref="Provider"/> is <c>Postgres</c>. Never logged.</summary>
    /// <value>None by default.</value>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The parsed provider, or null when <see cref="Provider"/> is not a known one.</summary>
    public DatabaseKind? Kind => Enum.TryParse<DatabaseKind>(Provider, ignoreCase: true, out var kind) && Enum.IsDefined(kind) ? kind : null;

    /// <summary>The SQLite file actually used.</summary>
    public string EffectiveSqlitePath => string.IsNullOrWhiteSpace(SqlitePath) ? Path.Combine(DataDirectory, "orleanscodex.db") : SqlitePath;
}
