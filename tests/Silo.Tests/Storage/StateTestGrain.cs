namespace OrleansCodex.Silo.Tests.Storage;

/// <summary>The state a test grain keeps in the silo's "state" storage (System.Text.Json, as configured by the silo).</summary>
public sealed class TestState
{
    public string? Name { get; set; }

    public int Count { get; set; }

    public List<string> Items { get; set; } = [];
}

/// <summary>What one activation of <see cref="StateTestGrain"/> holds: its state and ETag, and which activation answered.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.Silo.Tests.StateSnapshot")]
public sealed record StateSnapshot(string? Name, int Count, string? ETag, bool RecordExists, Guid Activation);

/// <summary>A grain with persistent state in the storage named "state", the one conversations use.</summary>
public interface IStateTestGrain : IGrainWithStringKey
{
    Task<StateSnapshot> Read();

    Task<StateSnapshot> Write(string name);

    Task Deactivate();
}

public sealed class StateTestGrain([PersistentState("x", "state")] IPersistentState<TestState> state) : Grain, IStateTestGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public Task<StateSnapshot> Read() => Task.FromResult(Snapshot());

    public async Task<StateSnapshot> Write(string name)
    {
        state.State.Name = name;
        state.State.Count++;
        state.State.Items.Add(name);
        await state.WriteStateAsync();
        return Snapshot();
    }

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private StateSnapshot Snapshot() => new(state.State.Name, state.State.Count, state.Etag, state.RecordExists, _activation);
}
