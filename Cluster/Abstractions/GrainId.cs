namespace OrleansCodex.Cluster;

/// <summary>Identifies one grain: its type name (e.g. <c>conversation</c>) and its key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    public override string ToString() => $"{Type}/{Key}";
}
