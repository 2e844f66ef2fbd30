using System.Collections.Frozen;
using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.Transport;

/// <summary>A grain on another node threw an exception whose type is not rethrown as itself; carries that type's name and message.</summary>
public sealed class RemoteGrainException(string remoteType, string message) : Exception(message)
{
    /// <summary>Full name of the exception type the grain threw.</summary>
    public string RemoteType { get; } = remoteType;

    public override string ToString() => $"{GetType().FullName} ({RemoteType}): {Message}";
}

/// <summary>
/// The call reached another incarnation than the one it was addressed to (the node restarted, or its address was reused); it was not
/// delivered to any grain. The caller re-resolves the grain's location and calls again.
/// </summary>
public sealed class StaleTargetException(NodeAddress target, NodeAddress? actual, string message) : Exception(message)
{
    /// <summary>The incarnation the caller addressed.</summary>
    public NodeAddress Target { get; } = target;

    /// <summary>The incarnation that answered, or null when that node serves none right now.</summary>
    public NodeAddress? Actual { get; } = actual;
}

/// <summary>Turns exceptions into <see cref="RemoteError"/>s and back.</summary>
internal sealed class RemoteExceptions
{
    /// <summary>Types rethrown as themselves without being registered: the runtime's own and the common framework ones.</summary>
    public static readonly IReadOnlyList<Type> BuiltInTypes =
    [
        typeof(InconsistentStateException), typeof(SiloUnavailableException), typeof(DuplicateActivationException), typeof(NoEligibleNodeException),
        typeof(ArgumentException), typeof(ArgumentNullException),
        typeof(ArgumentOutOfRangeException), typeof(InvalidOperationException), typeof(NotSupportedException), typeof(NotImplementedException),
        typeof(OperationCanceledException), typeof(TaskCanceledException), typeof(TimeoutException), typeof(KeyNotFoundException),
        typeof(FormatException), typeof(UnauthorizedAccessException),
    ];

    private readonly FrozenDictionary<string, Func<RemoteError, Exception>> _factories;

    public RemoteExceptions(IEnumerable<Type> extraTypes)
    {
        var factories = new Dictionary<string, Func<RemoteError, Exception>>(StringComparer.Ordinal)
        {
            [typeof(InconsistentStateException).FullName!] = e => new InconsistentStateException(e.Message, e.StoredEtag, e.CurrentEtag),
            [typeof(SiloUnavailableException).FullName!] = e => new SiloUnavailableException(e.Message, e.NotDelivered == true),
            [typeof(DuplicateActivationException).FullName!] = e => new DuplicateActivationException(e.Message),
            [typeof(NoEligibleNodeException).FullName!] = e => new NoEligibleNodeException(e.Message),
            [typeof(ArgumentException).FullName!] = e => new ArgumentException(e.Message),
            // The message already ends with "(Parameter 'x')", so the parameter name is not set again.
            [typeof(ArgumentNullException).FullName!] = e => new ArgumentNullException(paramName: null, e.Message),
            [typeof(ArgumentOutOfRangeException).FullName!] = e => new ArgumentOutOfRangeException(paramName: null, e.Message),
            [typeof(InvalidOperationException).FullName!] = e => new InvalidOperationException(e.Message),
            [typeof(NotSupportedException).FullName!] = e => new NotSupportedException(e.Message),
            [typeof(NotImplementedException).FullName!] = e => new NotImplementedException(e.Message),
            [typeof(OperationCanceledException).FullName!] = e => new OperationCanceledException(e.Message),
            [typeof(TaskCanceledException).FullName!] = e => new TaskCanceledException(e.Message),
            [typeof(TimeoutException).FullName!] = e => new TimeoutException(e.Message),
            [typeof(KeyNotFoundException).FullName!] = e => new KeyNotFoundException(e.Message),
            [typeof(FormatException).FullName!] = e => new FormatException(e.Message),
            [typeof(UnauthorizedAccessException).FullName!] = e => new UnauthorizedAccessException(e.Message),
        };

        foreach (var type in extraTypes)
        {
            var constructor = type.GetConstructor([typeof(string)])
                ?? throw new InvalidOperationException($"Exception type {type.FullName} has no public constructor taking the message.");
            factories[type.FullName!] = e => (Exception)constructor.Invoke([e.Message]);
        }

        _factories = factories.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public static RemoteError ToRemote(Exception exception) => exception switch
    {
        InconsistentStateException e => new RemoteError(Name(e), e.Message) { StoredEtag = e.StoredEtag, CurrentEtag = e.CurrentEtag },
        SiloUnavailableException { NotDelivered: true } e => new RemoteError(Name(e), e.Message) { NotDelivered = true },
        _ => new RemoteError(Name(exception), exception.Message),
    };

    /// <summary>The exception to throw on the caller: the same type when known, else <see cref="RemoteGrainException"/>.</summary>
    public Exception ToException(RemoteError error) =>
        _factories.TryGetValue(error.Type, out var factory) ? factory(error) : new RemoteGrainException(error.Type, error.Message);

    private static string Name(Exception exception) => exception.GetType().FullName ?? exception.GetType().Name;
}
