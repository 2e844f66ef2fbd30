namespace OrleansCodex.Cluster.Storage;

/// <summary>Lets the runtime read a state handle before activation without knowing its type.</summary>
internal interface IPersistentStateLoader
{
    Task ReadStateAsync(CancellationToken cancellationToken);
}

/// <summary>A grain's handle on one named state, bound to its grain id and the node's <see cref="IGrainStorage"/>.</summary>
public sealed class PersistentState<TState>(string stateName, GrainId grainId, IGrainStorage storage) : IPersistentState<TState>, IPersistentStateLoader
    where TState : class, new()
{
    private readonly GrainStateRecord<TState> _record = new();

    public string StateName { get; } = stateName;

    public TState State
    {
        get => _record.State;
        set => _record.State = value;
    }

    public string? Etag => _record.ETag;

    public bool RecordExists => _record.RecordExists;

    public Task ReadStateAsync(CancellationToken cancellationToken = default) => storage.ReadStateAsync(StateName, grainId, _record, cancellationToken);

    public Task WriteStateAsync(CancellationToken cancellationToken = default) => storage.WriteStateAsync(StateName, grainId, _record, cancellationToken);

    public Task ClearStateAsync(CancellationToken cancellationToken = default) => storage.ClearStateAsync(StateName, grainId, _record, cancellationToken);
}
