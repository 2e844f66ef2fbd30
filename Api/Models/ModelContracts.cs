namespace OrleansCodex.Api.Models;

public sealed record ModelObject(string Id, long Created, string OwnedBy)
{
    public string Object { get; init; } = "model";
}

public sealed record ModelList(IReadOnlyList<ModelObject> Data)
{
    public string Object { get; init; } = "list";
}
