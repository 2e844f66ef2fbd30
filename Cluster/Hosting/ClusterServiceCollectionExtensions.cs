using System.Reflection;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Catalog;
using OrleansCodex.Cluster.GrainDirectory;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Placement;
using OrleansCodex.Cluster.Routing;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Storage;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>Registers the grain runtime: a single node, a silo of a PostgreSQL cluster, or a pure client of one.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime of a silo (a process that hosts grains): options (<c>Cluster</c>, <c>Storage</c>,
    /// <c>ConnectionStrings:Postgres</c>, validated on start), the database and its migrations (applied while the host starts, before
    /// any other hosted service), grain state storage, <see cref="IGrainFactory"/>, the activation catalog with idle collection, and
    /// deactivation of every grain on shutdown. With <c>Cluster:Mode</c> = <c>Postgres</c> the node also joins the cluster
    /// (membership, grain directory, placement, node-to-node calls; map the endpoint with <see cref="MapClusterEndpoints"/>).
    /// Add grain classes with <see cref="AddGrains"/> and other schemas with <see cref="AddMigrations"/>.
    /// </summary>
    public static IServiceCollection AddClusterRuntime(this IServiceCollection services, IConfiguration configuration) =>
        services.AddClusterCore(configuration, hostsGrains: true);

    /// <summary>
    /// Adds a pure client of a cluster (Orleans' cluster client): <see cref="IGrainFactory"/> whose calls all go to silos, found
    /// through the shared membership table and grain directory. Needs <c>Cluster:Mode</c> = <c>Postgres</c>. The process hosts no
    /// grain and never joins membership; <see cref="AddGrains"/> still tells it the grain types.
    /// </summary>
    public static IServiceCollection AddClusterClient(this IServiceCollection services, IConfiguration configuration) =>
        services.AddClusterCore(configuration, hostsGrains: false);

    private static IServiceCollection AddClusterCore(this IServiceCollection services, IConfiguration configuration, bool hostsGrains)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(GrainCatalog)))
        {
            return services;
        }

        var section = configuration.GetSection(ClusterOptions.SectionName);
        var mode = new ClusterOptions { Mode = section[nameof(ClusterOptions.Mode)] ?? nameof(ClusterMode.Local) }.ParsedMode;
        services.AddOptions<ClusterOptions>().Bind(section).ValidateOnStart();
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .Configure(options =>
            {
                options.PostgresConnectionString ??= configuration.GetConnectionString("Postgres");
                // A cluster shares one database; SQLite cannot be shared, so PostgreSQL is the default there.
                if (mode == ClusterMode.Postgres && configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}"] is null)
                {
                    options.Provider = nameof(DatabaseKind.Postgres);
                }
            })
            .ValidateOnStart();
        services.AddOptions<GrainStorageOptions>();
        services.AddOptions<GrainTypeOptions>();
        services.AddSingleton<IValidateOptions<ClusterOptions>>(new ClusterOptionsValidator(hostsGrains, configuration));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClusterDatabase>(sp => CreateDatabase(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddMigrations(typeof(ClusterServiceCollectionExtensions).Assembly, "OrleansCodex.Cluster.Storage.Sql");
        services.TryAddSingleton<MigrationRunner>();
        services.TryAddSingleton<IGrainStorage, SqlGrainStorage>();

        services.TryAddSingleton<GrainTypeRegistry>();
        services.TryAddSingleton<GrainCatalog>();
        services.TryAddSingleton<LocalGrainInvoker>();
        services.TryAddSingleton<IGrainFactory, GrainFactory>();
        services.TryAddSingleton<ILocalSiloDetails>(new LocalSiloDetails(
            section[nameof(ClusterOptions.NodeId)] is { Length: > 0 } nodeId ? nodeId : Environment.MachineName));

        // Migrations first, whatever the order of the host's other registrations; it also runs in StartingAsync (see MigrationService).
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, MigrationService>());
        services.AddHostedService<GrainCatalogService>();

        if (mode == ClusterMode.Postgres)
        {
            services.AddClusterMembership(configuration, hostsGrains);
        }
        else
        {
            services.TryAddSingleton<IGrainCallRouter, LocalGrainCallRouter>();
            services.TryAddSingleton<IActivationDirectory, LocalActivationDirectory>();
        }

        return services;
    }

    private static void AddClusterMembership(this IServiceCollection services, IConfiguration configuration, bool hostsGrains)
    {
        var section = configuration.GetSection(ClusterOptions.SectionName);
        services.AddOptions<MembershipOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MembershipOptions>, MembershipOptionsValidator>());
        services.AddOptions<GrainDirectoryOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainDirectoryOptions>, GrainDirectoryOptionsValidator>());
        services.AddOptions<NodeMetadataOptions>().Configure(options =>
        {
            foreach (var entry in configuration.GetSection(NodeMetadataOptions.SectionName).GetChildren())
            {
                if (entry.Value is { } value)
                {
                    options.Metadata[entry.Key] = value;
                }
            }
        });
        services.AddClusterTransport(configuration);

        services.TryAddSingleton(sp =>
        {
            var cluster = sp.GetRequiredService<IOptions<ClusterOptions>>().Value;
            return new LocalNode(cluster.NodeId, AdvertisedEndpoint(cluster, configuration) ?? "", hostsGrains);
        });
        services.TryAddSingleton<ILocalNodeIdentity>(sp => sp.GetRequiredService<LocalNode>());
        services.TryAddSingleton<IMembershipTable, PostgresMembershipTable>();
        services.TryAddSingleton<PostgresGrainDirectory>();
        services.TryAddSingleton(sp => new CachedGrainDirectory(
            sp.GetRequiredService<PostgresGrainDirectory>(), sp.GetRequiredService<IOptions<GrainDirectoryOptions>>()));
        services.TryAddSingleton<IGrainDirectory>(sp => sp.GetRequiredService<CachedGrainDirectory>());
        services.TryAddSingleton<IClusterStatus, ClusterStatus>();
        services.TryAddSingleton<PlacementService>();
        services.TryAddSingleton<UnreachableNodeDetector>();
        services.TryAddSingleton<IGrainCallRouter, ClusterGrainCallRouter>();
        services.TryAddSingleton<IActivationDirectory, ClusterActivationDirectory>();

        if (hostsGrains)
        {
            services.TryAddSingleton(sp =>
            {
                var node = sp.GetRequiredService<LocalNode>();
                var metadata = sp.GetRequiredService<IOptions<NodeMetadataOptions>>().Value.Metadata;
                return new MembershipAgent(
                    sp.GetRequiredService<IMembershipTable>(),
                    new NodeIdentity(node.NodeId, node.Endpoint, Environment.MachineName, new Dictionary<string, string>(metadata, StringComparer.Ordinal)),
                    sp.GetRequiredService<IOptions<MembershipOptions>>(),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<MembershipAgent>>(),
                    sp.GetService<INodeLoad>());
            });
            services.TryAddSingleton<IMembershipView>(sp => sp.GetRequiredService<MembershipAgent>());
            services.AddHostedService<ClusterMembershipService>();
        }
        else
        {
            services.TryAddSingleton<MembershipObserver>();
            services.TryAddSingleton<IMembershipView>(sp => sp.GetRequiredService<MembershipObserver>());
            services.AddHostedService<ClusterClientService>();
        }
    }

    /// <summary>
    /// Maps what other nodes call on a silo in <c>Postgres</c> mode (<c>POST /_cluster/v1/calls</c>); maps nothing on a single node or
    /// a pure client, so hosts can call it unconditionally.
    /// </summary>
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<LocalNode>() is { HostsGrains: true })
        {
            endpoints.MapGrainTransport();
        }

        return endpoints;
    }

    /// <summary><see cref="ClusterOptions.AdvertisedUrl"/>, else the first listen URL with a wildcard host replaced by the machine name.</summary>
    internal static string? AdvertisedEndpoint(ClusterOptions cluster, IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(cluster.AdvertisedUrl))
        {
            return cluster.AdvertisedUrl;
        }

        var first = (configuration["urls"] ?? configuration["ASPNETCORE_URLS"])?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            return null;
        }

        foreach (var wildcard in new[] { "://*:", "://+:", "://0.0.0.0:", "://[::]:" })
        {
            first = first.Replace(wildcard, $"://{Environment.MachineName}:", StringComparison.Ordinal);
        }

        return Uri.TryCreate(first, UriKind.Absolute, out var uri) ? uri.ToString() : null;
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
