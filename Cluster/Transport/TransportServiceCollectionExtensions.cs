using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Transport;

/// <summary>Registers node-to-node grain calls; hosts add it in cluster mode only.</summary>
public static class TransportServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain transport: <c>Cluster:Secret</c>, <c>Cluster:CallTimeout</c> and <c>Cluster:ConnectTimeout</c> (validated on start),
    /// the caller (<c>RemoteGrainInvoker</c>) and the receiver mapped by <c>MapGrainTransport</c>. Needs <c>AddClusterRuntime</c>; the
    /// host also registers an <see cref="ILocalNodeIdentity"/>. Set argument serialization with
    /// <c>services.Configure&lt;GrainCallSerializationOptions&gt;(…)</c>.
    /// </summary>
    public static IServiceCollection AddClusterTransport(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ClusterTransportOptions>().Bind(configuration.GetSection(ClusterTransportOptions.SectionName)).ValidateOnStart();
        services.AddOptions<GrainCallSerializationOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterTransportOptions>, ClusterTransportOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainCallSerializationOptions>, GrainCallSerializationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClusterSecret>();
        services.TryAddSingleton<GrainCallResolver>();
        services.TryAddSingleton<LocalGrainInvoker>();
        services.TryAddSingleton<GrainCallServer>();
        services.TryAddSingleton<RemoteGrainInvoker>();
        return services;
    }
}
