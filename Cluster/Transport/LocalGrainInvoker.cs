using System.Runtime.CompilerServices;
using System.Threading.Channels;
using OrleansCodex.Cluster.Catalog;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Transport;

/// <summary>
/// Calls a grain activation of this node through its mailbox, exactly as a local proxy does (same requests, same turns), for calls
/// that arrived from another node. The token given here is the one the grain sees.
/// </summary>
internal sealed class LocalGrainInvoker(GrainCatalog catalog)
{
    public Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken)
    {
        if (method.Kind == GrainMethodKind.AsyncEnumerable)
        {
            throw new ArgumentException($"{method.Name} returns a stream; use {nameof(InvokeStreamAsync)}.", nameof(method));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<object?>(cancellationToken);
        }

        if (method.CancellationTokenIndex >= 0)
        {
            args[method.CancellationTokenIndex] = cancellationToken;
        }

        var request = new InvokeRequest(grainId, method, args, cancellationToken);
        catalog.Dispatch(request);
        return request.Completion;
    }

    /// <summary>The grain's stream; the call holds the activation's turn until the enumeration ends, is cancelled or is disposed.</summary>
    public async IAsyncEnumerable<T> InvokeStreamAsync<T>(
        GrainId grainId, GrainMethod method, object?[] args, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(GrainStream<T>.BufferSize) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        // Stopping early (dispose) must end the grain's turn as cancellation does, so the request gets its own source.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            stop.Token.ThrowIfCancellationRequested();
            catalog.Dispatch(new StreamRequest<T>(grainId, method, args, channel.Writer, stop.Token));
            // WaitToReadAsync rethrows the grain's exception as thrown.
            while (await channel.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            // Cancel before dispose: the grain side may still hold the token, and a cancelled token stays safe to use after dispose.
            await stop.CancelAsync().ConfigureAwait(false);
            stop.Dispose();
        }
    }
}
