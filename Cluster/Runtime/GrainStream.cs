namespace OrleansCodex.Cluster.Runtime;

/// <summary>
/// The caller's side of a streaming grain method. Each enumeration is one call that holds the grain's turn until the grain finishes
/// or the caller stops (cancels or disposes); either the method's own token or the one given to <c>WithCancellation</c> stops it.
/// </summary>
internal sealed class GrainStream<T>(GrainReferenceProxy reference, GrainMethod method, object?[] args) : IAsyncEnumerable<T>
{
    /// <summary>Items the grain may produce ahead of the caller.</summary>
    internal const int BufferSize = 16;

    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        reference.Router.InvokeStreamAsync<T>(reference.GrainId, method, (object?[])args.Clone(), method.GetCancellationToken(args))
            .GetAsyncEnumerator(cancellationToken);
}
