using System.Text.Json.Serialization;

namespace OrleansCodex.Api.Models;

public sealed record ModelObject(string Id, long Created, string OwnedBy)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "model";
}

public sealed record ModelList(IReadOnlyList<ModelObject> Data)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "list";
}
