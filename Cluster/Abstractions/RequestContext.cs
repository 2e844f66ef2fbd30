using System.Collections.Immutable;

namespace OrleansCodex.Cluster;

/// <summary>
/// Values that flow with the current call, like Orleans' <c>RequestContext</c>: set before calling a grain, visible to the runtime
/// on the calling node (placement filters read them, see <see cref="MetadataPlacementFilterAttribute"/>) and to grain code the call
/// runs in the same process. Unlike Orleans, values do not travel to other nodes.
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
