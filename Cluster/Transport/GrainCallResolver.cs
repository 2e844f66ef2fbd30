using System.Collections.Concurrent;
using System.Reflection;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Transport;

/// <summary>Names methods on the wire and finds them again on the receiving node, among the interfaces of the addressed grain class.</summary>
internal sealed class GrainCallResolver(GrainTypeRegistry registry)
{
    private readonly ConcurrentDictionary<(string GrainType, string Interface, string Method), GrainMethod> _methods = new();

    /// <summary>
    /// The method's name and parameter types, e.g. <c>Produce(System.Int32, System.Threading.CancellationToken)</c>: overloads stay apart,
    /// and <see cref="Type.ToString"/> leaves assembly versions out, so nodes built at different times still agree.
    /// </summary>
    public static string Signature(MethodInfo method) =>
        $"{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.ToString()))})";

    /// <summary>The full name of the interface that declares the method.</summary>
    public static string InterfaceName(MethodInfo method) =>
        method.DeclaringType?.FullName ?? throw new ArgumentException($"Method {method.Name} has no declaring type.", nameof(method));

    /// <summary>The method the request names; throws <see cref="InvalidOperationException"/> saying what this node lacks.</summary>
    public GrainMethod Resolve(GrainCallRequest request)
    {
        var key = (request.GrainType, request.Interface, request.Method);
        if (_methods.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var grainClass = registry.FindClass(request.GrainType)
            ?? throw new InvalidOperationException($"No grain class has grain type '{request.GrainType}' on this node.");
        var grainInterface = grainClass.ImplementationType.GetInterfaces()
            .FirstOrDefault(i => typeof(IGrainWithStringKey).IsAssignableFrom(i) && string.Equals(i.FullName, request.Interface, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Grain class {grainClass.ImplementationType.FullName} does not implement grain interface {request.Interface}.");
        var method = grainInterface.GetMethods().FirstOrDefault(m => string.Equals(Signature(m), request.Method, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Grain interface {request.Interface} has no method {request.Method}.");
        return _methods.GetOrAdd(key, GrainMethod.Create(method));
    }
}
