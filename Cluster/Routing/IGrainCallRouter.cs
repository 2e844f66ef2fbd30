using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Routing;

/// <summary>
/// Takes a call from a grain reference to the grain's one activation, wherever it is: this node's catalog or another node.
/// Grain references know nothing else, so grain code reads the same on one node and in a cluster.
/// </summary>
internal interface IGrainCallRouter
{
    /// <summary>Calls a method returning a task; completes with its result (null for <c>Task</c>).</summary>
    Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken);

    /// <summary>Enumerates a streaming method; nothing is sent until the enumeration starts.</summary>
    IAsyncEnumerable<T> InvokeStreamAsync<T>(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken);
}

/// <summary>A single node: every call goes to this node's catalog.</summary>
internal sealed class LocalGrainCallRouter(LocalGrainInvoker local) : IGrainCallRouter
{
    public Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken) =>
        local.InvokeAsync(grainId, method, args, cancellationToken);

    public IAsyncEnumerable<T> InvokeStreamAsync<T>(GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken) =>
        local.InvokeStreamAsync<T>(grainId, method, args, cancellationToken);
}
