namespace OrleansCodex.Cluster;

/// <summary>Injects an <see cref="IPersistentState{TState}"/> into a grain constructor parameter, read before <c>OnActivateAsync</c>.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName) : Attribute
{
    /// <summary>The name that keeps this state separate from the grain's other states.</summary>
    public string StateName { get; } = stateName;
}

/// <summary>Lets calls to this grain interleave with each other (no turn-based serialisation).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>Lets calls to this method interleave with any other call of the activation.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>Names the grain type used in grain ids and storage (defaults to the class name without the <c>Grain</c> suffix, lower-cased).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// The grain is always activated on the calling node, one activation per node and key, never registered in the grain directory:
/// for grains that stand for a node-local resource such as a process (like Orleans' <c>[StatelessWorker]</c> with one activation).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LocalPlacementAttribute : Attribute;

/// <summary>
/// A new activation goes to the node the call starts from, unless that node does not pass the grain's placement filters or is
/// saturated (load ≥ 1), in which case the least loaded eligible node gets it (Orleans' <c>PreferLocalPlacement</c>). Grains
/// without a placement attribute go to a random eligible node.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class PreferLocalPlacementAttribute : Attribute;

/// <summary>
/// Places new activations only on nodes whose membership metadata entry <see cref="MetadataKey"/> (a comma-separated list) contains
/// the calling flow's <see cref="RequestContext"/> value for <see cref="RequestContextKey"/>; e.g. a node declaring
/// <c>providers=codex</c> never gets a conversation started for Claude. Without a request context value the filter lets every node pass.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class MetadataPlacementFilterAttribute(string requestContextKey, string metadataKey) : Attribute
{
    public string RequestContextKey { get; } = requestContextKey;

    public string MetadataKey { get; } = metadataKey;
}
