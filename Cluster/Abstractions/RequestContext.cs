using System.Collections.Immutable;

namespace OrleansCodex.Cluster;

/// <summary>
/// Values set by the caller of a grain, like Orleans' <c>RequestContext</c>, flowing with the caller's async flow. The runtime reads
/// them on the calling node when it places a new activation (see <see cref="MetadataPlacementFilterAttribute"/>). Unlike Orleans,
/// they are not carried into the grain's turn or to other nodes.
/// </summary>
public static class RequestContext
{
    private static readonly AsyncLocal<ImmutableDictionary<string, string>?> _values = new();

    /// <summary>Sets a value for the rest of the current async flow (and the calls it makes).</summary>
    public static void Set(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _values.Value = (_values.Value ?? ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal)).SetItem(key, value);
    }

    /// <summary>The value set for <paramref name="key"/> in the current flow, or null.</summary>
    public static string? Get(string key) => _values.Value?.GetValueOrDefault(key);

    /// <summary>Removes a value from the current flow.</summary>
    public static void Remove(string key) => _values.Value = _values.Value?.Remove(key);

    /// <summary>Removes every value from the current flow.</summary>
    public static void Clear() => _values.Value = null;
}
