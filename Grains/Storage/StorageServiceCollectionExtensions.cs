using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Grains.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the node's database (<c>Storage</c> section and <c>ConnectionStrings:Postgres</c>, validated on start) and the
    /// migration runner, which applies every <see cref="IMigrationSource"/> while the host starts, before any other hosted service
    /// (the Orleans silo included). <paramref name="postgresByDefault"/>: a cluster shares one database, which SQLite cannot be.
    /// </summary>
    public static IServiceCollection AddOrleansCodexStorage(this IServiceCollection services, IConfiguration configuration, bool postgresByDefault)
    {
        if (services.Any(d => d.ServiceType == typeof(MigrationRunner)))
        {
            return services;
        }

        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .Configure(options =>
            {
                options.PostgresConnectionString ??= configuration.GetConnectionString("Postgres");
                if (postgresByDefault && configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}"] is null)
                {
                    options.Provider = nameof(DatabaseKind.Postgres);
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<Database>(sp => CreateDatabase(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.TryAddSingleton<MigrationRunner>();
        // First, whatever the order of the host's other registrations; it also runs in StartingAsync (see MigrationService).
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, MigrationService>());
        return services;
    }

    /// <summary>
    /// Registers the migrations embedded in an assembly as <c>{resourcePrefix}.{Sqlite|Postgres}.{id}.sql</c> (see
    /// <see cref="EmbeddedMigrationSource"/>), e.g. <c>AddMigrations(typeof(X).Assembly, "OrleansCodex.Grains.Conversations.Sql")</c>
    /// for files in <c>Grains/Conversations/Sql/Postgres/grains-001-responses.sql</c>.
    /// </summary>
    public static IServiceCollection AddMigrations(this IServiceCollection services, Assembly assembly, string resourcePrefix)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrWhiteSpace(resourcePrefix);
        services.AddSingleton<IMigrationSource>(new EmbeddedMigrationSource(assembly, resourcePrefix));
        return services;
    }

    private static Database CreateDatabase(StorageOptions options) => options.Kind switch
    {
        DatabaseKind.Postgres => new PostgresDatabase(options.PostgresConnectionString!),
        DatabaseKind.Sqlite => new SqliteDatabase(options.EffectiveSqlitePath),
        _ => throw new OptionsValidationException(StorageOptions.SectionName, typeof(StorageOptions), [$"Storage:Provider '{options.Provider}' is not supported."]),
    };
}

/// <summary>Checks <see cref="StorageOptions"/>, reporting every bad setting at once by its configuration name.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var errors = new List<string>();
        var provider = $"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}";
        switch (options.Kind)
        {
            case null:
                errors.Add($"{provider} must be {nameof(DatabaseKind.Sqlite)} or {nameof(DatabaseKind.Postgres)}, not '{options.Provider}'.");
                break;
            case DatabaseKind.Postgres when string.IsNullOrWhiteSpace(options.PostgresConnectionString):
                errors.Add($"ConnectionStrings:Postgres is required when {provider} is {nameof(DatabaseKind.Postgres)}.");
                break;
            case DatabaseKind.Sqlite when string.IsNullOrWhiteSpace(options.DataDirectory) && string.IsNullOrWhiteSpace(options.SqlitePath):
                errors.Add($"{StorageOptions.SectionName}:{nameof(StorageOptions.DataDirectory)} or {StorageOptions.SectionName}:{nameof(StorageOptions.SqlitePath)} must be set when {provider} is {nameof(DatabaseKind.Sqlite)}.");
                break;
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
