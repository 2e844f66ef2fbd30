using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace OrleansCodex.Cluster.Tests.Runtime;

/// <summary>What test grains report back to the test: one instance per test host.</summary>
public sealed class GrainProbe
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new();
    private readonly ConcurrentDictionary<string, int> _counters = new();
    private readonly ConcurrentQueue<string> _events = new();
    private readonly ConcurrentDictionary<string, (int Current, int Max)> _concurrency = new();
    private readonly Lock _lock = new();
    private long _nextActivation;

    public long NewActivationNumber() => Interlocked.Increment(ref _nextActivation);

    public void Record(string @event)
    {
        _events.Enqueue(@event);
        _counters.AddOrUpdate(@event, 1, (_, n) => n + 1);
        Signal(@event).TrySetResult();
    }

    public int Count(string @event) => _counters.GetValueOrDefault(@event);

    public IReadOnlyList<string> Events => [.. _events];

    /// <summary>Completes when <paramref name="event"/> has been recorded at least once.</summary>
    public Task WhenRecorded(string @event) => Signal(@event).Task.WaitAsync(TestTimeouts.Wait);

    private TaskCompletionSource Signal(string name) => _signals.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>A gate grains wait on until the test releases it.</summary>
    public SemaphoreSlim Gate(string name) => _gates.GetOrAdd(name, _ => new SemaphoreSlim(0));

    public void Enter(string key)
    {
        lock (_lock)
        {
            var (current, max) = _concurrency.GetValueOrDefault(key);
            current++;
            _concurrency[key] = (current, Math.Max(current, max));
        }
    }

    public void Exit(string key)
    {
        lock (_lock)
        {
            var (current, max) = _concurrency[key];
            _concurrency[key] = (current - 1, max);
        }
    }

    public int MaxConcurrency(string key) => _concurrency.GetValueOrDefault(key).Max;
}

public static class TestTimeouts
{
    /// <summary>Upper bound of every wait in these tests; reached only when something is broken.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
}

public sealed class CounterState
{
    public int Value { get; set; }
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();

    Task<int> Get();

    /// <summary>Which activation answered (numbers grow with each construction).</summary>
    Task<long> GetActivationNumber();

    Task Deactivate();

    Task<string> Describe();
}

public sealed class CounterGrain(GrainProbe probe, [PersistentState("counter")] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    private readonly long _activationNumber = probe.NewActivationNumber();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Record($"activate:{this.GetPrimaryKeyString()}");
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReasonCode reason, CancellationToken cancellationToken)
    {
        probe.Record($"deactivate:{this.GetPrimaryKeyString()}:{reason}");
        // A gate named after the key lets a test hold deactivation open; by default it is not used.
        if (probe.Count($"hold-deactivation:{this.GetPrimaryKeyString()}") > 0)
        {
            await probe.Gate($"deactivation:{this.GetPrimaryKeyString()}").WaitAsync(TestTimeouts.Wait, cancellationToken);
        }

        probe.Record($"deactivated:{this.GetPrimaryKeyString()}:{_activationNumber}");
    }

    public async Task<int> Increment()
    {
        state.State.Value++;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> Get() => Task.FromResult(state.State.Value);

    public Task<long> GetActivationNumber()
    {
        probe.Record($"answered:{this.GetPrimaryKeyString()}:{_activationNumber}");
        return Task.FromResult(_activationNumber);
    }

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task<string> Describe() => Task.FromResult($"{GrainId.Type}|{GrainId.Key}|{state.Etag}|{state.RecordExists}");
}

public interface ITurnGrain : IGrainWithStringKey
{
    Task Work(int delayMilliseconds);

    /// <summary>Returns once <paramref name="parties"/> calls (on any grains) reached the same rendezvous.</summary>
    Task Rendezvous(string name, int parties);

    Task Block(string gate);

    [AlwaysInterleave]
    Task<string> Peek();

    Task<string?> ReadAsyncLocal();

    Task SetAsyncLocal(string value);

    Task<bool> WaitForCancellation(CancellationToken cancellationToken);

    Task ThrowAsync(string message);

    Task<int> ThrowSynchronously();

    ValueTask<int> AddAsync(int a, int b);

    ValueTask Nothing();

    Task<int> CallCounter(string key);
}

public static class TestAsyncLocal
{
    public static readonly AsyncLocal<string?> Value = new();
}

public sealed class TestGrainException(string message) : Exception(message);

public sealed class TurnGrain(GrainProbe probe) : Grain, ITurnGrain
{
    private static readonly ConcurrentDictionary<string, (int Count, TaskCompletionSource Done)> _rendezvous = new();

    public async Task Work(int delayMilliseconds)
    {
        var key = this.GetPrimaryKeyString();
        probe.Enter(key);
        try
        {
            await Task.Delay(delayMilliseconds);
            await Task.Yield();
        }
        finally
        {
            probe.Exit(key);
        }
    }

    public Task Rendezvous(string name, int parties) => Arrive(name, parties);

    internal static Task Arrive(string name, int parties)
    {
        var entry = _rendezvous.AddOrUpdate(
            name,
            _ => (1, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)),
            (_, e) => (e.Count + 1, e.Done));
        if (entry.Count >= parties)
        {
            entry.Done.TrySetResult();
        }

        return entry.Done.Task.WaitAsync(TestTimeouts.Wait);
    }

    public async Task Block(string gate)
    {
        probe.Record($"blocked:{gate}");
        await probe.Gate(gate).WaitAsync(TestTimeouts.Wait);
    }

    public Task<string> Peek() => Task.FromResult("peeked");

    public Task<string?> ReadAsyncLocal() => Task.FromResult(TestAsyncLocal.Value.Value);

    public Task SetAsyncLocal(string value)
    {
        TestAsyncLocal.Value.Value = value;
        return Task.CompletedTask;
    }

    public async Task<bool> WaitForCancellation(CancellationToken cancellationToken)
    {
        probe.Record($"waiting:{this.GetPrimaryKeyString()}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return false;
        }
        catch (OperationCanceledException)
        {
            probe.Record($"cancelled:{this.GetPrimaryKeyString()}");
            throw;
        }
    }

    public async Task ThrowAsync(string message)
    {
        await Task.Yield();
        throw new TestGrainException(message);
    }

    public Task<int> ThrowSynchronously() => throw new ArgumentOutOfRangeException("value", "thrown before any await");

    public ValueTask<int> AddAsync(int a, int b) => ValueTask.FromResult(a + b);

    public ValueTask Nothing() => ValueTask.CompletedTask;

    public Task<int> CallCounter(string key) => GrainFactory.GetGrain<ICounterGrain>(key).Increment();
}

public interface IReentrantTestGrain : IGrainWithStringKey
{
    Task Rendezvous(string name, int parties);
}

[Reentrant]
public sealed class ReentrantTestGrain : Grain, IReentrantTestGrain
{
    public Task Rendezvous(string name, int parties) => TurnGrain.Arrive(name, parties);
}

public interface IStreamGrain : IGrainWithStringKey
{
    /// <summary>Yields 0..count-1, waiting for the test's gate after each item.</summary>
    IAsyncEnumerable<int> Produce(int count, CancellationToken cancellationToken = default);

    IAsyncEnumerable<int> ProduceThenThrow();

    Task<string> Ping();
}

public sealed class StreamGrain(GrainProbe probe) : Grain, IStreamGrain
{
    public async IAsyncEnumerable<int> Produce(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        try
        {
            for (var i = 0; i < count; i++)
            {
                probe.Record($"produced:{key}:{i}");
                yield return i;
                await probe.Gate($"next:{key}").WaitAsync(TestTimeouts.Wait, cancellationToken);
            }
        }
        finally
        {
            probe.Record(cancellationToken.IsCancellationRequested ? $"stream-cancelled:{key}" : $"stream-ended:{key}");
        }
    }

    public async IAsyncEnumerable<int> ProduceThenThrow()
    {
        yield return 1;
        await Task.Yield();
        throw new TestGrainException("stream failed");
    }

    public Task<string> Ping() => Task.FromResult("pong");
}

public interface IFlakyGrain : IGrainWithStringKey
{
    Task<string> Hello();
}

/// <summary>Fails activation while the probe holds "fail-activation:{key}" events more than attempts made.</summary>
public sealed class FlakyGrain(GrainProbe probe) : Grain, IFlakyGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        probe.Record($"activation-attempt:{key}");
        if (probe.Count($"activation-attempt:{key}") <= probe.Count($"fail-activation:{key}"))
        {
            throw new TestGrainException($"activation of {key} failed on purpose");
        }

        return Task.CompletedTask;
    }

    public Task<string> Hello() => Task.FromResult("hello");
}

public interface IBadGrain : IGrainWithStringKey
{
    int NotAsync();
}

public sealed class BadGrain : Grain, IBadGrain
{
    public int NotAsync() => 1;
}

public interface IUnregisteredGrain : IGrainWithStringKey
{
    Task Nothing();
}

[GrainType("custom-named")]
public sealed class NamedGrain : Grain, INamedGrain
{
    public Task<string> GetType2() => Task.FromResult(GrainId.Type);
}

public interface INamedGrain : IGrainWithStringKey
{
    Task<string> GetType2();
}
