using System.Runtime.CompilerServices;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Tests.Transport;

public sealed record Address(string Street, string? City);

public sealed record Customer(string Name, int Age, Address? Home, IReadOnlyList<Address> Previous, Dictionary<string, int> Scores, string? Note);

/// <summary>An exception type the transport does not know unless registered.</summary>
public sealed class RemoteTestException(string message) : Exception(message);

public interface IRemoteTestGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();

    Task Touch();

    Task<Customer> Echo(Customer customer, IReadOnlyList<int?> numbers);

    Task<int> Fail(string exceptionKind);

    Task<int> WaitForGate(string gate);

    Task<bool> WaitForCancellation(CancellationToken cancellationToken);

    Task Work(int delayMilliseconds);

    IAsyncEnumerable<int> Produce(int count, CancellationToken cancellationToken = default);

    IAsyncEnumerable<int> ProduceThenThrow();

    /// <summary>Waits <paramref name="delayMilliseconds"/> before each of <paramref name="count"/> items, writing nothing meanwhile.</summary>
    IAsyncEnumerable<int> ProduceSlowly(int count, int delayMilliseconds, CancellationToken cancellationToken = default);

    /// <summary>Waits <paramref name="delayMilliseconds"/>, then throws before its first item.</summary>
    IAsyncEnumerable<int> FailStreamAfter(int delayMilliseconds);
}

public sealed class RemoteTestGrain(GrainProbe probe, ILocalNodeIdentity identity) : Grain, IRemoteTestGrain
{
    private string Key => this.GetPrimaryKeyString();

    public Task<string> WhereAmI() => Task.FromResult(identity.Address!.Value.ToString());

    public Task Touch()
    {
        probe.Record($"touched:{Key}");
        return Task.CompletedTask;
    }

    public Task<Customer> Echo(Customer customer, IReadOnlyList<int?> numbers) =>
        Task.FromResult(customer with { Note = $"{customer.Note}|{string.Join(",", numbers.Select(n => n?.ToString() ?? "null"))}" });

    public Task<int> Fail(string exceptionKind)
    {
        probe.Record($"failed:{Key}");
        throw exceptionKind switch
        {
            "argument" => new ArgumentException("bad argument", "customer"),
            "invalid" => new InvalidOperationException("not now"),
            "inconsistent" => new InconsistentStateException("stale write", "7", "6"),
            _ => new RemoteTestException("custom failure"),
        };
    }

    public async Task<int> WaitForGate(string gate)
    {
        probe.Record($"invoked:{Key}");
        await probe.Gate(gate).WaitAsync(TestTimeouts.Wait);
        return probe.Count($"invoked:{Key}");
    }

    public async Task<bool> WaitForCancellation(CancellationToken cancellationToken)
    {
        probe.Record($"waiting:{Key}");
        try
        {
            await Task.Delay(TestTimeouts.Wait, cancellationToken);
            return false;
        }
        catch (OperationCanceledException)
        {
            probe.Record($"cancelled:{Key}");
            throw;
        }
    }

    public async Task Work(int delayMilliseconds)
    {
        probe.Enter(Key);
        try
        {
            await Task.Delay(delayMilliseconds);
            await Task.Yield();
        }
        finally
        {
            probe.Exit(Key);
        }
    }

    public async IAsyncEnumerable<int> Produce(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var key = Key;
        try
        {
            for (var i = 0; i < count; i++)
            {
                yield return i;
                probe.Record($"produced:{key}:{i + 1}");
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
        throw new InvalidOperationException("stream failed");
    }

    public async IAsyncEnumerable<int> ProduceSlowly(int count, int delayMilliseconds, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var key = Key;
        probe.Record($"stream-started:{key}");
        try
        {
            for (var i = 0; i < count; i++)
            {
                await Task.Delay(delayMilliseconds, cancellationToken);
                yield return i;
            }
        }
        finally
        {
            probe.Record(cancellationToken.IsCancellationRequested ? $"stream-cancelled:{key}" : $"stream-ended:{key}");
        }
    }

    public async IAsyncEnumerable<int> FailStreamAfter(int delayMilliseconds)
    {
        await Task.Delay(delayMilliseconds);
        // Always true; the unreachable yield below is what makes this method an iterator.
        if (delayMilliseconds >= 0)
        {
            throw new InvalidOperationException($"stream failed after {delayMilliseconds} ms");
        }

        yield break;
    }
}
