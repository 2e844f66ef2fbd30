using System.Threading.Channels;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>One call waiting for, or running in, a turn of an activation.</summary>
internal abstract class GrainRequest(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken)
{
    public GrainId GrainId { get; } = grainId;

    public GrainMethod Method { get; } = method;

    protected object?[] Args { get; } = args;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Claims the request for execution; false when the caller gave up while it was queued (it is then dropped).</summary>
    public abstract bool TryStart();

    /// <summary>Runs the call inside the turn. Never throws: the outcome goes to the caller, and to the activation through <paramref name="finished"/>
    /// before the caller can observe it (so a follow-up call cannot reach an activation that is about to be replaced).</summary>
    public abstract Task RunAsync(Grain grain, Action<Exception?> finished);

    /// <summary>Fails a request that never ran (activation failed, node stopping).</summary>
    public abstract void Fail(Exception exception);
}

/// <summary>A call returning a task.</summary>
internal sealed class InvokeRequest : GrainRequest
{
    private const int Queued = 0, Started = 1, Abandoned = 2;

    private readonly TaskCompletionSource<object?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration _registration;
    private int _state;

    public InvokeRequest(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken)
        : base(grainId, method, args, cancellationToken)
    {
        // Cancelled while still queued: the caller is released at once; once running, the token is the grain's to honour.
        _registration = cancellationToken.Register(static state =>
        {
            var request = (InvokeRequest)state!;
            if (Interlocked.CompareExchange(ref request._state, Abandoned, Queued) == Queued)
            {
                request._completion.TrySetCanceled(request.CancellationToken);
            }
        }, this);
    }

    public Task<object?> Completion => _completion.Task;

    public override bool TryStart()
    {
        var started = Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;
        _registration.Dispose();
        return started;
    }

    public override async Task RunAsync(Grain grain, Action<Exception?> finished)
    {
        object? result = null;
        Exception? error = null;
        try
        {
            result = await Method.InvokeAsync(grain, Args);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        finished(error);
        if (error is null)
        {
            _completion.TrySetResult(result);
        }
        else
        {
            _completion.TrySetException(error);
        }
    }

    public override void Fail(Exception exception)
    {
        _registration.Dispose();
        _completion.TrySetException(exception);
    }
}

/// <summary>An enumeration of a streaming method; its turn lasts until the grain's enumeration ends.</summary>
internal sealed class StreamRequest<T>(GrainId grainId, GrainMethod method, object?[] args, ChannelWriter<T> writer, CancellationToken cancellationToken)
    : GrainRequest(grainId, method, args, cancellationToken)
{
    public override bool TryStart()
    {
        if (CancellationToken.IsCancellationRequested)
        {
            writer.TryComplete(new OperationCanceledException(CancellationToken));
            return false;
        }

        return true;
    }

    public override async Task RunAsync(Grain grain, Action<Exception?> finished)
    {
        Exception? error = null;
        try
        {
            if (Method.CancellationTokenIndex >= 0)
            {
                Args[Method.CancellationTokenIndex] = CancellationToken;
            }

            // The token also goes to WithCancellation so an [EnumeratorCancellation] parameter sees it.
            await foreach (var item in Method.InvokeStream<T>(grain, Args).WithCancellation(CancellationToken))
            {
                await writer.WriteAsync(item, CancellationToken);
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }

        finished(error);
        writer.TryComplete(error);
    }

    public override void Fail(Exception exception) => writer.TryComplete(exception);
}
