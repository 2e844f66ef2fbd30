namespace OrleansCodex.Cluster;

/// <summary>A grain's durable state, like Orleans' <c>IPersistentState&lt;T&gt;</c>. Writes are compare-and-swap on <see cref="Etag"/>.</summary>
public interface IPersistentState<TState> where TState : class, new()
{
    /// <summary>The state; a fresh <typeparamref name="TState"/> when nothing is stored.</summary>
    TState State { get; set; }

    /// <summary>The stored version this activation last saw, or null when nothing is stored.</summary>
    string? Etag { get; }

    /// <summary>True when a record exists in storage.</summary>
    bool RecordExists { get; }

    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes the state. Throws <see cref="InconsistentStateException"/> when storage holds another version.</summary>
    Task WriteStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes the stored state. Throws <see cref="InconsistentStateException"/> when storage holds another version.</summary>
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>A stale write: storage holds a version other than the one this activation read.</summary>
public sealed class InconsistentStateException(string message, string? storedEtag, string? currentEtag) : Exception(message)
{
    /// <summary>The version found in storage (null if no record exists).</summary>
    public string? StoredEtag { get; } = storedEtag;

    /// <summary>The version the writer expected.</summary>
    public string? CurrentEtag { get; } = currentEtag;
}
