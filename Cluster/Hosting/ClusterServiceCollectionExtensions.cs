using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Catalog;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>Registers the single-node grain runtime.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime: options (<c>Cluster</c>, <c>Storage</c>, <c>ConnectionStrings:Postgres</c>, validated on start),
    /// the database and its migrations (applied while the host starts, before any other hosted service), grain state storage,
    /// <see cref="IGrainFactory"/>, the activation catalog with idle collection, and deactivation of every grain on shutdown.
    /// Add grain classes with <see cref="AddGrains"/> and other schemas with <see cref="AddMigrations"/>.
    /// </summary>
    public static IServiceCollection AddClusterRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(GrainCatalog)))
        {
            return services;
        }

        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.SectionName)).ValidateOnStart();
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .Configure(options => options.PostgresConnectionString ??= configuration.GetConnectionString("Postgres"))
            .ValidateOnStart();
        services.AddOptions<GrainStorageOptions>();
        services.AddOptions<GrainTypeOptions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClusterDatabase>(sp => CreateDatabase(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddMigrations(typeof(ClusterServiceCollectionExtensions).Assembly, "OrleansCodex.Cluster.Storage.Sql");
        services.TryAddSingleton<MigrationRunner>();
        services.TryAddSingleton<IGrainStorage, SqlGrainStorage>();

        services.TryAddSingleton<GrainTypeRegistry>();
        services.TryAddSingleton<GrainCatalog>();
        services.TryAddSingleton<IGrainFactory, GrainFactory>();

        // Migrations first, whatever the order of the host's other registrations; it also runs in StartingAsync (see MigrationService).
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, MigrationService>());
        services.AddHostedService<GrainCatalogService>();
        return services;
    }

    /// <summary>Registers every grain class (non-abstract <see cref="Grain"/> subclass implementing a grain interface) of the assembly.</summary>
    public static IServiceCollection AddGrains(this IServiceCollection services, Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        services.Configure<GrainTypeOptions>(options =>
        {
            if (!options.Assemblies.Contains(assembly))
            {
                options.Assemblies.Add(assembly);
            }
        });
        return services;
    }

    /// <summary>
    /// Registers the migrations embedded in an assembly as <c>{resourcePrefix}.{Sqlite|Postgres}.{id}.sql</c> (see
    /// <see cref="EmbeddedMigrationSource"/>), e.g. <c>AddMigrations(typeof(X).Assembly, "OrleansCodex.Grains.Storage.Sql")</c> for
    /// files in <c>Grains/Storage/Sql/Postgres/grains-001-conversations.sql</c>.
    /// </summary>
    public static IServiceCollection AddMigrations(this IServiceCollection services, Assembly assembly, string resourcePrefix)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrWhiteSpace(resourcePrefix);
        services.AddSingleton<IMigrationSource>(new EmbeddedMigrationSource(assembly, resourcePrefix));
        return services;
    }

    private static ClusterDatabase CreateDatabase(StorageOptions options) => options.Kind switch
    {
        DatabaseKind.Postgres => new PostgresClusterDatabase(options.PostgresConnectionString!),
        DatabaseKind.Sqlite => new SqliteClusterDatabase(options.EffectiveSqlitePath),
        _ => throw new OptionsValidationException(StorageOptions.SectionName, typeof(StorageOptions), [$"Storage:Provider '{options.Provider}' is not supported."]),
    };
}
