using System.Runtime.CompilerServices;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>One thing a test grain did, on which node.</summary>
public sealed record ProbeEvent(string Kind, string Grain, string Node, string? Detail);

/// <summary>
/// What the test grains of one test report, shared by every node of that test's cluster (all nodes run in the test process), so that
/// activations and overlapping turns are counted cluster-wide.
/// </summary>
public sealed class ClusterProbe
{
    private readonly Lock _lock = new();
    private readonly List<ProbeEvent> _events = [];
    private readonly List<(Func<ProbeEvent, bool> Match, TaskCompletionSource Seen)> _waiters = [];
    private readonly Dictionary<string, (int Current, int Max)> _concurrency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _deactivationGates = new(StringComparer.Ordinal);

    public void Record(string kind, string grain, string node, string? detail = null)
    {
        var @event = new ProbeEvent(kind, grain, node, detail);
        List<TaskCompletionSource> seen = [];
        lock (_lock)
        {
            _events.Add(@event);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(@event))
                {
                    seen.Add(_waiters[i].Seen);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var waiter in seen)
        {
            waiter.TrySetResult();
        }
    }

    public IReadOnlyList<ProbeEvent> Events(string kind, string grain)
    {
        lock (_lock)
        {
            return [.. _events.Where(e => e.Kind == kind && e.Grain == grain)];
        }
    }

    public int Count(string kind, string grain) => Events(kind, grain).Count;

    /// <summary>Completes when an event of <paramref name="kind"/> for <paramref name="grain"/> was recorded (before or after the call).</summary>
    public Task WhenRecorded(string kind, string grain, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_events.Any(e => e.Kind == kind && e.Grain == grain))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((e => e.Kind == kind && e.Grain == grain, seen));
        }

        return seen.Task.WaitAsync(timeout);
    }

    public void Enter(string grain)
    {
        lock (_lock)
        {
            var (current, max) = _concurrency.GetValueOrDefault(grain);
            current++;
            _concurrency[grain] = (current, Math.Max(current, max));
        }
    }

    public void Exit(string grain)
    {
        lock (_lock)
        {
            var (current, max) = _concurrency[grain];
            _concurrency[grain] = (current - 1, max);
        }
    }

    /// <summary>The most turns of <paramref name="grain"/> that ever ran at once, on all nodes together.</summary>
    public int MaxConcurrency(string grain)
    {
        lock (_lock)
        {
            return _concurrency.GetValueOrDefault(grain).Max;
        }
    }

    /// <summary>Makes the grain's next <c>OnDeactivateAsync</c> wait until <see cref="ReleaseDeactivation"/>.</summary>
    public void HoldDeactivation(string grain)
    {
        lock (_lock)
        {
            _deactivationGates[grain] = new SemaphoreSlim(0);
        }
    }

    public void ReleaseDeactivation(string grain)
    {
        lock (_lock)
        {
            if (_deactivationGates.Remove(grain, out var gate))
            {
                gate.Release(int.MaxValue / 2);
            }
        }
    }

    internal SemaphoreSlim? DeactivationGate(string grain)
    {
        lock (_lock)
        {
            return _deactivationGates.GetValueOrDefault(grain);
        }
    }
}

public sealed class ClusterCounterState
{
    public int Count { get; set; }

    public Dictionary<string, int> CallsByNode { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A grain's persisted counter and the node that answered.</summary>
public sealed record CounterReport(int Count, Dictionary<string, int> CallsByNode, string Node);

/// <summary>The methods every clustering test grain has; each placement strategy has its own interface and class below.</summary>
public interface IClusteringTestGrain : IGrainWithStringKey
{
    /// <summary>Adds one to the persisted counter (recording the node), taking <paramref name="workMilliseconds"/> inside the turn.</summary>
    Task<int> Increment(int workMilliseconds);

    Task<CounterReport> Report();

    /// <summary>The name of the node this activation runs on.</summary>
    Task<string> WhereAmI();

    /// <summary>Deactivates this activation once the call returns (it unregisters from the directory).</summary>
    Task Deactivate();

    /// <summary>Yields 0..count-1, waiting <paramref name="delayMilliseconds"/> after each item.</summary>
    IAsyncEnumerable<int> Ticks(int count, int delayMilliseconds, CancellationToken cancellationToken = default);
}

public interface IRandomPlacedGrain : IClusteringTestGrain;

public interface IPreferLocalGrain : IClusteringTestGrain;

public interface INodeLocalGrain : IClusteringTestGrain;

public interface IProviderFilteredGrain : IClusteringTestGrain;

/// <summary>
/// Records into the test's <see cref="ClusterProbe"/>, by grain id (<c>type/key</c>) and node name: construction, activation,
/// deactivation, each counted call and stream life. Increments check that no two turns of one grain overlap anywhere in the cluster.
/// </summary>
public abstract class ClusteringTestGrainBase : Grain, IClusteringTestGrain
{
    private readonly ClusterProbe _probe;
    private readonly ILocalSiloDetails _silo;
    private readonly IPersistentState<ClusterCounterState> _state;

    protected ClusteringTestGrainBase(ClusterProbe probe, ILocalSiloDetails silo, IPersistentState<ClusterCounterState> state)
    {
        _probe = probe;
        _silo = silo;
        _state = state;
    }

    private string Id => ClusterProbeIds.Of(GrainId);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _probe.Record("activate", Id, _silo.Name);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReasonCode reason, CancellationToken cancellationToken)
    {
        _probe.Record("deactivating", Id, _silo.Name, reason.ToString());
        if (_probe.DeactivationGate(Id) is { } gate)
        {
            await gate.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        }

        _probe.Record("deactivated", Id, _silo.Name, reason.ToString());
    }

    public async Task<int> Increment(int workMilliseconds)
    {
        _probe.Enter(Id);
        try
        {
            _state.State.Count++;
            _state.State.CallsByNode[_silo.Name] = _state.State.CallsByNode.GetValueOrDefault(_silo.Name) + 1;
            if (workMilliseconds > 0)
            {
                await Task.Delay(workMilliseconds);
            }
            else
            {
                await Task.Yield();
            }

            await _state.WriteStateAsync();
            _probe.Record("call", Id, _silo.Name);
            return _state.State.Count;
        }
        finally
        {
            _probe.Exit(Id);
        }
    }

    public Task<CounterReport> Report() =>
        Task.FromResult(new CounterReport(_state.State.Count, new Dictionary<string, int>(_state.State.CallsByNode, StringComparer.Ordinal), _silo.Name));

    public Task<string> WhereAmI() => Task.FromResult(_silo.Name);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<int> Ticks(int count, int delayMilliseconds, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _probe.Record("stream-started", Id, _silo.Name);
        try
        {
            for (var i = 0; i < count; i++)
            {
                yield return i;
                await Task.Delay(delayMilliseconds, cancellationToken);
            }

            _probe.Record("stream-completed", Id, _silo.Name);
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _probe.Record("stream-cancelled", Id, _silo.Name);
            }

            _probe.Record("stream-exited", Id, _silo.Name);
        }
    }
}

/// <summary>No placement attribute: a random active node.</summary>
[GrainType("clustering-random")]
public sealed class RandomPlacedGrain(ClusterProbe probe, ILocalSiloDetails silo, [PersistentState("counter")] IPersistentState<ClusterCounterState> state)
    : ClusteringTestGrainBase(probe, silo, state), IRandomPlacedGrain;

[PreferLocalPlacement]
[GrainType("clustering-prefer-local")]
public sealed class PreferLocalGrain(ClusterProbe probe, ILocalSiloDetails silo, [PersistentState("counter")] IPersistentState<ClusterCounterState> state)
    : ClusteringTestGrainBase(probe, silo, state), IPreferLocalGrain;

/// <summary>One activation per calling node, never in the directory. Its tests must not write state (the activations share the row).</summary>
[LocalPlacement]
[GrainType("clustering-local")]
public sealed class NodeLocalGrain(ClusterProbe probe, ILocalSiloDetails silo, [PersistentState("counter")] IPersistentState<ClusterCounterState> state)
    : ClusteringTestGrainBase(probe, silo, state), INodeLocalGrain;

/// <summary>Like a conversation: prefers the calling node, but only nodes whose <c>providers</c> metadata has the flow's <c>provider</c>.</summary>
[PreferLocalPlacement]
[MetadataPlacementFilter("provider", "providers")]
[GrainType("clustering-provider")]
public sealed class ProviderFilteredGrain(ClusterProbe probe, ILocalSiloDetails silo, [PersistentState("counter")] IPersistentState<ClusterCounterState> state)
    : ClusteringTestGrainBase(probe, silo, state), IProviderFilteredGrain;

public static class ClusterProbeIds
{
    /// <summary>How the probe names a grain: <c>type/key</c>.</summary>
    public static string Of(GrainId grainId) => $"{grainId.Type}/{grainId.Key}";

    public static string Of<TGrainClass>(string key) where TGrainClass : Grain =>
        $"{OrleansCodex.Cluster.Runtime.GrainTypeRegistry.GetGrainTypeName(typeof(TGrainClass))}/{key}";
}
