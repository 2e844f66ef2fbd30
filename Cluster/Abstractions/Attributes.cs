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

/// <summary>The grain is always activated on the calling node, like a grain next to a node-local resource.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LocalPlacementAttribute : Attribute;
