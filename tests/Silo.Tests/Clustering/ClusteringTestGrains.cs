using System.Runtime.CompilerServices;
using Orleans.Concurrency;
using OrleansCodex.Grains.Placement;

namespace OrleansCodex.Silo.Tests.Clustering;

/// <summary>One call as the grain saw it: where and in which activation it ran, the grain's count after it, and whether any call overlapped another.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.Silo.Tests.CallRecord")]
public sealed record CallRecord(string Silo, Guid Activation, int Count, int MaxConcurrent);

/// <summary>What a streaming call looked like from inside the grain.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.Silo.Tests.ProducerReport")]
public sealed record ProducerReport(int Produced, bool Finished, bool SawCancellation);

/// <summary>A grain placed like a conversation: load-aware placement, only on silos serving the provider its caller names.</summary>
public interface IPlacedGrain : IGrainWithStringKey
{
    Task<CallRecord> WhereAmI();

    /// <summary>A non-reentrant turn that yields while it runs, so that an overlapping call would be seen.</summary>
    Task<CallRecord> Enter();

    /// <summary>Yields 0, 1, 2… every <paramref name="interval"/> until the caller cancels.</summary>
    IAsyncEnumerable<int> Produce(TimeSpan interval, CancellationToken cancellationToken = default);

    [AlwaysInterleave]
    Task<ProducerReport> GetProducerReport();
}

[ConversationPlacement]
[ServesProviderPlacementFilter]
public sealed class PlacedGrain(ILocalSiloDetails silo) : Grain, IPlacedGrain
{
    private readonly Guid _activation = Guid.NewGuid();
    private int _count;
    private int _concurrent;
    private int _maxConcurrent;
    private int _produced;
    private bool _finished;
    private bool _sawCancellation;

    public Task<CallRecord> WhereAmI() => Task.FromResult(Record());

    public async Task<CallRecord> Enter()
    {
        _maxConcurrent = Math.Max(_maxConcurrent, Interlocked.Increment(ref _concurrent));
        try
        {
            var before = _count;
            await Task.Delay(1);
            _count = before + 1;
            return Record();
        }
        finally
        {
            Interlocked.Decrement(ref _concurrent);
        }
    }

    public async IAsyncEnumerable<int> Produce(TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    await Task.Delay(interval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    _sawCancellation = true;
                    yield break;
                }

                _produced++;
                yield return i;
            }
        }
        finally
        {
            // Ended between two items (Orleans disposes the enumerator after cancelling its token) or while waiting for the next.
            _sawCancellation |= cancellationToken.IsCancellationRequested;
            _finished = true;
        }
    }

    public Task<ProducerReport> GetProducerReport() => Task.FromResult(new ProducerReport(_produced, _finished, _sawCancellation));

    private CallRecord Record() => new(silo.Name, _activation, _count, _maxConcurrent);
}

/// <summary>Calls <see cref="IPlacedGrain"/> from inside a grain on the silo it is first called from.</summary>
public interface IRelayGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();

    Task<CallRecord[]> EnterMany(string key, int calls);
}

[Orleans.Placement.PreferLocalPlacement]
public sealed class RelayGrain(ILocalSiloDetails silo) : Grain, IRelayGrain
{
    public Task<string> WhereAmI() => Task.FromResult(silo.Name);

    public Task<CallRecord[]> EnterMany(string key, int calls) =>
        Task.WhenAll(Enumerable.Range(0, calls).Select(_ => GrainFactory.GetGrain<IPlacedGrain>(key).Enter()));
}
