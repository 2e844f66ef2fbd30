using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Runtime;

/// <summary>Where grain classes come from; filled by <c>AddGrains(assembly)</c>.</summary>
public sealed class GrainTypeOptions
{
    /// <summary>Assemblies scanned for grain classes.</summary>
    /// <value>Empty by default: every host adds the assemblies that hold its grains.</value>
    public IList<Assembly> Assemblies { get; } = [];
}

/// <summary>Where new activations of a grain class go (see the placement attributes).</summary>
internal enum PlacementStrategy
{
    /// <summary>A random eligible node (no attribute).</summary>
    Random,

    /// <summary>The calling node when eligible and not saturated (<see cref="PreferLocalPlacementAttribute"/>).</summary>
    PreferLocal,

    /// <summary>Always the calling node, one activation per node, not in the grain directory (<see cref="LocalPlacementAttribute"/>).</summary>
    Local,
}

/// <summary>A grain class: its type name (used in grain ids and storage) and how to build it.</summary>
internal sealed class GrainClassInfo
{
    public GrainClassInfo(Type implementationType, string grainType)
    {
        ImplementationType = implementationType;
        GrainType = grainType;
        IsReentrant = implementationType.IsDefined(typeof(ReentrantAttribute), inherit: true);
        Placement = implementationType.IsDefined(typeof(LocalPlacementAttribute), inherit: true) ? PlacementStrategy.Local
            : implementationType.IsDefined(typeof(PreferLocalPlacementAttribute), inherit: true) ? PlacementStrategy.PreferLocal
            : PlacementStrategy.Random;
        PlacementFilters = [.. implementationType.GetCustomAttributes<MetadataPlacementFilterAttribute>(inherit: true)];
        Constructor = SelectConstructor(implementationType);
        Parameters = Constructor.GetParameters()
            .Select(p => GrainConstructorParameter.Create(implementationType, p))
            .ToArray();
    }

    public Type ImplementationType { get; }

    public string GrainType { get; }

    public bool IsReentrant { get; }

    public PlacementStrategy Placement { get; }

    public IReadOnlyList<MetadataPlacementFilterAttribute> PlacementFilters { get; }

    public ConstructorInfo Constructor { get; }

    public IReadOnlyList<GrainConstructorParameter> Parameters { get; }

    private static ConstructorInfo SelectConstructor(Type type)
    {
        var constructors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        if (constructors.Length == 0)
        {
            throw new InvalidOperationException($"Grain class {type.FullName} has no public constructor.");
        }

        // Like ActivatorUtilities: an explicitly marked constructor wins, else the one asking for the most.
        return constructors.FirstOrDefault(c => c.IsDefined(typeof(Microsoft.Extensions.DependencyInjection.ActivatorUtilitiesConstructorAttribute)))
            ?? constructors.OrderByDescending(c => c.GetParameters().Length).First();
    }
}

/// <summary>One constructor parameter of a grain class: a service from DI or a persistent state handle.</summary>
internal sealed record GrainConstructorParameter(ParameterInfo Parameter, string? StateName, Type? StateType)
{
    public static GrainConstructorParameter Create(Type grainClass, ParameterInfo parameter)
    {
        var attribute = parameter.GetCustomAttribute<PersistentStateAttribute>();
        if (attribute is null)
        {
            return new GrainConstructorParameter(parameter, null, null);
        }

        var type = parameter.ParameterType;
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(IPersistentState<>))
        {
            throw new InvalidOperationException(
                $"Parameter '{parameter.Name}' of grain class {grainClass.FullName} has [PersistentState] but its type is {type.Name}, not IPersistentState<T>.");
        }

        if (string.IsNullOrWhiteSpace(attribute.StateName))
        {
            throw new InvalidOperationException($"Parameter '{parameter.Name}' of grain class {grainClass.FullName} has an empty [PersistentState] name.");
        }

        return new GrainConstructorParameter(parameter, attribute.StateName, type.GetGenericArguments()[0]);
    }
}

/// <summary>A grain interface: the class implementing it and its analysed methods.</summary>
internal sealed class GrainInterfaceInfo
{
    private readonly Dictionary<MethodInfo, GrainMethod> _methods;

    public GrainInterfaceInfo(Type interfaceType, GrainClassInfo grainClass)
    {
        InterfaceType = interfaceType;
        GrainClass = grainClass;
        // DispatchProxy hands us the MethodInfo of the interface that declares the method, so inherited interfaces are included.
        _methods = new[] { interfaceType }.Concat(interfaceType.GetInterfaces())
            .SelectMany(i => i.GetMethods())
            .ToDictionary(m => m, GrainMethod.Create);
    }

    public Type InterfaceType { get; }

    public GrainClassInfo GrainClass { get; }

    public GrainMethod GetMethod(MethodInfo method) =>
        _methods.TryGetValue(method, out var grainMethod)
            ? grainMethod
            : throw new InvalidOperationException($"{method.DeclaringType?.Name}.{method.Name} is not a method of grain interface {InterfaceType.Name}.");
}

/// <summary>Grain classes found in the registered assemblies, and which class serves each grain interface.</summary>
internal sealed class GrainTypeRegistry
{
    private readonly Dictionary<Type, GrainClassInfo> _classByInterface = [];
    private readonly Dictionary<string, GrainClassInfo> _classByType = new(StringComparer.Ordinal);
    private readonly HashSet<Type> _ambiguousInterfaces = [];
    private readonly ConcurrentDictionary<Type, GrainInterfaceInfo> _interfaces = new();

    public GrainTypeRegistry(IOptions<GrainTypeOptions> options)
    {
        foreach (var type in options.Value.Assemblies.Distinct().SelectMany(GetLoadableTypes).Where(IsGrainClass))
        {
            var info = new GrainClassInfo(type, GetGrainTypeName(type));
            if (!_classByType.TryAdd(info.GrainType, info))
            {
                throw new InvalidOperationException(
                    $"Grain classes {_classByType[info.GrainType].ImplementationType.FullName} and {type.FullName} both have grain type '{info.GrainType}'; give one a [GrainType] name.");
            }

            foreach (var grainInterface in type.GetInterfaces().Where(IsGrainInterface))
            {
                if (!_classByInterface.TryAdd(grainInterface, info))
                {
                    _ambiguousInterfaces.Add(grainInterface);
                }
            }
        }
    }

    public IReadOnlyCollection<GrainClassInfo> GrainClasses => _classByType.Values;

    /// <summary>The grain type name of a class: <c>[GrainType]</c>, else the class name without a <c>Grain</c> suffix, lower-cased.</summary>
    public static string GetGrainTypeName(Type grainClass)
    {
        if (grainClass.GetCustomAttribute<GrainTypeAttribute>() is { } attribute)
        {
            return attribute.Name;
        }

        var name = grainClass.Name;
        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > "Grain".Length)
        {
            name = name[..^"Grain".Length];
        }

        return name.ToLowerInvariant();
    }

    public GrainClassInfo? FindClass(string grainType) => _classByType.GetValueOrDefault(grainType);

    /// <summary>The analysed interface; throws when no single registered class implements it or a method cannot be called.</summary>
    public GrainInterfaceInfo GetInterface(Type interfaceType) => _interfaces.GetOrAdd(interfaceType, CreateInterfaceInfo);

    private GrainInterfaceInfo CreateInterfaceInfo(Type interfaceType)
    {
        if (!interfaceType.IsInterface)
        {
            throw new ArgumentException($"{interfaceType.FullName} is not an interface; GetGrain takes a grain interface.", nameof(interfaceType));
        }

        if (_ambiguousInterfaces.Contains(interfaceType))
        {
            var classes = _classByType.Values.Where(c => interfaceType.IsAssignableFrom(c.ImplementationType)).Select(c => c.ImplementationType.Name);
            throw new InvalidOperationException($"Grain interface {interfaceType.FullName} is implemented by several grain classes ({string.Join(", ", classes)}); one class per interface is supported.");
        }

        if (!_classByInterface.TryGetValue(interfaceType, out var grainClass))
        {
            throw new InvalidOperationException(
                $"No grain class implements {interfaceType.FullName}; register the assembly that holds it with AddGrains(assembly).");
        }

        return new GrainInterfaceInfo(interfaceType, grainClass);
    }

    private static bool IsGrainClass(Type type) =>
        type is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }
        && typeof(Grain).IsAssignableFrom(type)
        && type.GetInterfaces().Any(IsGrainInterface);

    private static bool IsGrainInterface(Type type) =>
        type != typeof(IGrainWithStringKey) && typeof(IGrainWithStringKey).IsAssignableFrom(type) && !type.IsGenericTypeDefinition;

    private static IEnumerable<Type> GetLoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }
}
