namespace OrleansCodex.Cluster.Storage;

/// <summary>What storage reads and writes for one state of one grain.</summary>
public sealed class GrainStateRecord<TState> where TState : class, new()
{
    public TState State { get; set; } = new();

    /// <summary>The stored version, or null when no record exists.</summary>
    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}

/// <summary>Grain state storage with optimistic concurrency, like Orleans' <c>IGrainStorage</c>.</summary>
public interface IGrainStorage
{
    Task ReadStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new();

    /// <summary>Writes when the stored version equals <c>record.ETag</c> (or nothing is stored and the ETag is null); then updates the ETag.
    /// Otherwise throws <see cref="InconsistentStateException"/> carrying both versions.</summary>
    Task WriteStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new();

    /// <summary>Deletes under the same ETag check; afterwards the record does not exist and its ETag is null.</summary>
    Task ClearStateAsync<TState>(string stateName, GrainId grainId, GrainStateRecord<TState> record, CancellationToken cancellationToken = default)
        where TState : class, new();
}
