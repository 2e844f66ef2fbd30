using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>
/// Wraps a real membership table to count reads and writes and to make reads fail on demand (an unreachable database),
/// for the tests of code that must only read, or must survive a failed read.
/// </summary>
public sealed class InstrumentedMembershipTable(IMembershipTable inner) : IMembershipTable
{
    private int _reads;
    private int _writes;
    private int _readsToFail;
    private TaskCompletionSource _readFailed = NewSignal();

    /// <summary>Calls of <see cref="ReadAllAsync"/>, failed ones included.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Calls of any method other than <see cref="ReadAllAsync"/>.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>Completes when a read made to fail by <see cref="FailNextReads"/> has thrown (just before it throws).</summary>
    public Task ReadFailed => Volatile.Read(ref _readFailed).Task;

    /// <summary>Makes the next <paramref name="count"/> reads throw, as if the database were unreachable.</summary>
    public void FailNextReads(int count)
    {
        Volatile.Write(ref _readFailed, NewSignal());
        Volatile.Write(ref _readsToFail, count);
    }

    public async Task<MembershipSnapshot> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        if (Interlocked.Decrement(ref _readsToFail) >= 0)
        {
            Volatile.Read(ref _readFailed).TrySetResult();
            throw new InvalidOperationException("The membership database is unreachable (test).");
        }

        Interlocked.Exchange(ref _readsToFail, 0);
        return await inner.ReadAllAsync(cancellationToken);
    }

    public Task<bool> InsertRowAsync(MembershipEntry entry, long expectedVersion, CancellationToken cancellationToken = default) =>
        Write(() => inner.InsertRowAsync(entry, expectedVersion, cancellationToken));

    public Task<bool> UpdateRowAsync(MembershipEntry entry, long expectedETag, long expectedVersion, CancellationToken cancellationToken = default) =>
        Write(() => inner.UpdateRowAsync(entry, expectedETag, expectedVersion, cancellationToken));

    public Task<bool> UpdateHeartbeatAsync(NodeAddress address, double load, CancellationToken cancellationToken = default) =>
        Write(() => inner.UpdateHeartbeatAsync(address, load, cancellationToken));

    public Task<bool> DeclareDeadAsync(NodeAddress address, TimeSpan minHeartbeatAge, long expectedVersion, CancellationToken cancellationToken = default) =>
        Write(() => inner.DeclareDeadAsync(address, minHeartbeatAge, expectedVersion, cancellationToken));

    public Task<int> CleanupDefunctEntriesAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        Write(() => inner.CleanupDefunctEntriesAsync(olderThan, cancellationToken));

    private Task<T> Write<T>(Func<Task<T>> write)
    {
        Interlocked.Increment(ref _writes);
        return write();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A node load the test sets; can be made to throw.</summary>
public sealed class SettableNodeLoad : INodeLoad
{
    private double _load;

    public double Load
    {
        get => Volatile.Read(ref _load);
        set => Volatile.Write(ref _load, value);
    }

    public bool Throw { get; set; }

    public double CurrentLoad => Throw ? throw new InvalidOperationException("The load source is broken (test).") : Load;
}

/// <summary>Keeps every log entry, to check that failures are logged rather than thrown.</summary>
public sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId EventId, Exception? Exception, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, EventId EventId, Exception? Exception, string Message)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId, exception, formatter(state, exception)));
}

/// <summary>Waiting helpers for things that happen on a background loop after a manual clock moved.</summary>
public static class Eventually
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Completes with the first event args that satisfy <paramref name="condition"/>; fails after <see cref="Timeout"/>.</summary>
    public static Task<TArgs> NextAsync<TArgs>(Action<EventHandler<TArgs>> subscribe, Func<TArgs, bool> condition)
    {
        var seen = new TaskCompletionSource<TArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscribe((_, args) =>
        {
            if (condition(args))
            {
                seen.TrySetResult(args);
            }
        });
        return seen.Task.WaitAsync(Timeout);
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails after <see cref="Timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}
