using System.Reflection;

namespace OrleansCodex.Grains.Storage;

/// <summary>
/// Migrations kept as embedded <c>.sql</c> files, one folder per provider: the resource <c>{prefix}.{Kind}.{id}.sql</c>
/// (e.g. <c>OrleansCodex.Grains.Conversations.Sql.Postgres.grains-001-responses.sql</c> for the file
/// <c>Conversations/Sql/Postgres/grains-001-responses.sql</c>) is migration <c>{id}</c> for that <see cref="DatabaseKind"/>.
/// Sub-folders (e.g. <c>Queries/</c>) are not migrations. Ids must not contain dots; start them with the assembly's area
/// (<c>grains-</c>, <c>orleans-</c>) because ids from every source are applied in one ordinal order.
/// </summary>
public sealed class EmbeddedMigrationSource(Assembly assembly, string resourcePrefix) : IMigrationSource
{
    public IEnumerable<Migration> GetMigrations(DatabaseKind kind)
    {
        var folder = $"{resourcePrefix}.{kind}.";
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(folder, StringComparison.Ordinal) || !name.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var id = name[folder.Length..^".sql".Length];
            if (id.Contains('.', StringComparison.Ordinal))
            {
                continue;
            }

            yield return new Migration(id, SqlScripts.Read(assembly, name));
        }
    }

    public override string ToString() => $"{assembly.GetName().Name}:{resourcePrefix}";
}
