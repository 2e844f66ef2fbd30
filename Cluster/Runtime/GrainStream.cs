using System.Threading.Channels;
using OrleansCodex.Cluster.Catalog;

namespace OrleansCodex.Cluster.Runtime;

/// <summary>
/// The caller's side of a streaming grain method. Each enumeration is one request that holds the grain's turn until the
/// grain finishes or the caller stops (cancels or disposes), items flowing through a small bounded channel for back-pressure.
/// </summary>
internal sealed class GrainStream<T>(GrainReferenceProxy reference, GrainMethod method, object?[] args) : IAsyncEnumerable<T>
{
    /// <summary>Items the grain may produce ahead of the caller.</summary>
    internal const int BufferSize = 16;

    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Enumerator(reference, method, (object?[])args.Clone(), cancellationToken);

    private sealed class Enumerator : IAsyncEnumerator<T>
    {
        private readonly GrainReferenceProxy _reference;
        private readonly GrainMethod _method;
        private readonly object?[] _args;
        private readonly CancellationTokenSource _cancellation;
        private readonly Channel<T> _channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(BufferSize) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        private bool _started;

        public Enumerator(GrainReferenceProxy reference, GrainMethod method, object?[] args, CancellationToken enumeratorToken)
        {
            _reference = reference;
            _method = method;
            _args = args;
            // Either the method's own token or the one given to WithCancellation/GetAsyncEnumerator stops the grain side.
            _cancellation = CancellationTokenSource.CreateLinkedTokenSource(method.GetCancellationToken(args), enumeratorToken);
        }

        public T Current { get; private set; } = default!;

        public async ValueTask<bool> MoveNextAsync()
        {
            var token = _cancellation.Token;
            if (!_started)
            {
                token.ThrowIfCancellationRequested();
                _started = true;
                _reference.Catalog.Dispatch(new StreamRequest<T>(_reference.GrainId, _method, _args, _channel.Writer, token));
            }

            // WaitToReadAsync rethrows the grain's exception as thrown (ReadAsync would wrap it in ChannelClosedException).
            while (await _channel.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                if (_channel.Reader.TryRead(out var item))
                {
                    Current = item;
                    return true;
                }
            }

            return false;
        }

        public ValueTask DisposeAsync()
        {
            // Cancel before dispose: the grain side may still hold the token, and a cancelled token stays safe to use after dispose.
            _cancellation.Cancel();
            _cancellation.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
