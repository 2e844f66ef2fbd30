using System.Reflection;
using OrleansCodex.Cluster.Routing;

namespace OrleansCodex.Cluster.Runtime;

/// <summary>
/// The object behind every typed grain reference: turns an interface call into a request to the grain's activation.
/// Not sealed and with a parameterless constructor because <see cref="DispatchProxy"/> derives its generated type from it.
/// </summary>
internal class GrainReferenceProxy : DispatchProxy
{
    private GrainInterfaceInfo? _interface;
    private IGrainCallRouter? _router;

    public GrainId GrainId { get; private set; }

    internal IGrainCallRouter Router => _router ?? throw new InvalidOperationException("The grain reference was not initialised.");

    internal static object Create(GrainInterfaceInfo grainInterface, GrainId grainId, IGrainCallRouter router)
    {
        var proxy = (GrainReferenceProxy)Create(grainInterface.InterfaceType, typeof(GrainReferenceProxy));
        proxy._interface = grainInterface;
        proxy._router = router;
        proxy.GrainId = grainId;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var method = _interface!.GetMethod(targetMethod);
        args ??= [];

        if (method.Kind == GrainMethodKind.AsyncEnumerable)
        {
            // Nothing is sent until the caller starts enumerating, as in Orleans.
            return method.CreateStream(this, args);
        }

        var cancellationToken = method.GetCancellationToken(args);
        if (cancellationToken.IsCancellationRequested)
        {
            return method.ToDeclaredResult(Task.FromCanceled<object?>(cancellationToken));
        }

        return method.ToDeclaredResult(Router.InvokeAsync(GrainId, method, args, cancellationToken));
    }

    public override string ToString() => $"GrainReference:{GrainId}";

    public override bool Equals(object? obj) =>
        obj is GrainReferenceProxy other && other.GrainId == GrainId && other._interface?.InterfaceType == _interface?.InterfaceType;

    public override int GetHashCode() => GrainId.GetHashCode();
}
