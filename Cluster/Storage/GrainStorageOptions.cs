using System.Text.Json;

namespace OrleansCodex.Cluster.Storage;

/// <summary>How grain state is serialised. Set by code (<c>services.Configure&lt;GrainStorageOptions&gt;</c>), not configuration,
/// because grain state types and their JSON contexts live in the grain assemblies.</summary>
public sealed class GrainStorageOptions
{
    /// <summary>Serialiser options for every grain state; add a source-generated <c>JsonSerializerContext</c> to <c>TypeInfoResolverChain</c> for speed.</summary>
    /// <value>Web defaults (camelCase names, case-insensitive reads) by default.</value>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);
}
