using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// How <see cref="MembershipEntry.Metadata"/> is stored: a flat JSON object of strings (a <c>jsonb</c> column in PostgreSQL),
/// serialised by source-generated code, without reflection.
/// </summary>
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class MembershipJsonContext : JsonSerializerContext
{
    /// <summary>The metadata as a JSON object.</summary>
    public static string SerializeMetadata(IReadOnlyDictionary<string, string> metadata) =>
        JsonSerializer.Serialize(metadata, Default.IReadOnlyDictionaryStringString);

    /// <summary>The metadata of a stored JSON object; a JSON <c>null</c> reads as empty.</summary>
    /// <exception cref="JsonException">The text is not an object whose values are all strings.</exception>
    public static IReadOnlyDictionary<string, string> DeserializeMetadata(string json) =>
        JsonSerializer.Deserialize(json, Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>();
}
