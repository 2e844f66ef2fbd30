using System.Reflection;

namespace OrleansCodex.Cluster.Runtime;

/// <summary>How a grain method hands its result back.</summary>
internal enum GrainMethodKind { Task, TaskOfT, ValueTask, ValueTaskOfT, AsyncEnumerable }

/// <summary>
/// One method of a grain interface, analysed once: how to call it on the grain and how the proxy turns
/// the runtime's untyped completion back into the declared return type.
/// </summary>
internal sealed class GrainMethod
{
    private static readonly MethodInfo _awaitTaskOfTDefinition = typeof(GrainMethod).GetMethod(nameof(AwaitTaskOfT), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _awaitValueTaskOfTDefinition = typeof(GrainMethod).GetMethod(nameof(AwaitValueTaskOfT), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _castTaskDefinition = typeof(GrainMethod).GetMethod(nameof(CastTask), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _castValueTaskDefinition = typeof(GrainMethod).GetMethod(nameof(CastValueTask), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _createStreamDefinition = typeof(GrainMethod).GetMethod(nameof(CreateStream), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly Func<object, Task<object?>>? _awaitResult;
    private readonly Func<Task<object?>, object>? _toDeclaredResult;
    private readonly Func<GrainReferenceProxy, GrainMethod, object?[], object>? _createStream;

    private GrainMethod(MethodInfo method, GrainMethodKind kind, Type? resultType, int cancellationTokenIndex)
    {
        Method = method;
        Kind = kind;
        ResultType = resultType;
        CancellationTokenIndex = cancellationTokenIndex;
        AlwaysInterleave = method.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true);

        switch (kind)
        {
            case GrainMethodKind.Task:
                _awaitResult = static async task => { await ((Task)task).ConfigureAwait(false); return null; };
                _toDeclaredResult = static task => task;
                break;
            case GrainMethodKind.ValueTask:
                _awaitResult = static async task => { await ((ValueTask)task).ConfigureAwait(false); return null; };
                _toDeclaredResult = static task => new ValueTask(task);
                break;
            case GrainMethodKind.TaskOfT:
                _awaitResult = _awaitTaskOfTDefinition.MakeGenericMethod(resultType!).CreateDelegate<Func<object, Task<object?>>>();
                _toDeclaredResult = _castTaskDefinition.MakeGenericMethod(resultType!).CreateDelegate<Func<Task<object?>, object>>();
                break;
            case GrainMethodKind.ValueTaskOfT:
                _awaitResult = _awaitValueTaskOfTDefinition.MakeGenericMethod(resultType!).CreateDelegate<Func<object, Task<object?>>>();
                _toDeclaredResult = _castValueTaskDefinition.MakeGenericMethod(resultType!).CreateDelegate<Func<Task<object?>, object>>();
                break;
            case GrainMethodKind.AsyncEnumerable:
                _createStream = _createStreamDefinition.MakeGenericMethod(resultType!)
                    .CreateDelegate<Func<GrainReferenceProxy, GrainMethod, object?[], object>>();
                break;
        }
    }

    public MethodInfo Method { get; }

    public GrainMethodKind Kind { get; }

    /// <summary>The <c>T</c> of <c>Task&lt;T&gt;</c>, <c>ValueTask&lt;T&gt;</c> or <c>IAsyncEnumerable&lt;T&gt;</c>.</summary>
    public Type? ResultType { get; }

    /// <summary>Index of the trailing <see cref="CancellationToken"/> parameter, or -1.</summary>
    public int CancellationTokenIndex { get; }

    public bool AlwaysInterleave { get; }

    public string Name => $"{Method.DeclaringType?.Name}.{Method.Name}";

    public CancellationToken GetCancellationToken(object?[] args) =>
        CancellationTokenIndex >= 0 && args[CancellationTokenIndex] is CancellationToken token ? token : CancellationToken.None;

    /// <summary>Analyses a grain interface method; throws a message naming the method when it cannot be called remotely.</summary>
    public static GrainMethod Create(MethodInfo method)
    {
        var where = $"{method.DeclaringType?.FullName}.{method.Name}";
        var parameters = method.GetParameters();
        var tokenIndex = -1;
        for (var i = 0; i < parameters.Length; i++)
        {
            var type = parameters[i].ParameterType;
            if (type.IsByRef || parameters[i].IsOut)
            {
                throw new NotSupportedException($"Grain method {where} has a ref/out parameter '{parameters[i].Name}'; grain calls only pass values.");
            }

            if (type == typeof(CancellationToken))
            {
                if (i != parameters.Length - 1)
                {
                    throw new NotSupportedException($"Grain method {where} takes a CancellationToken that is not its last parameter.");
                }

                tokenIndex = i;
            }
        }

        var returnType = method.ReturnType;
        (GrainMethodKind kind, Type? result) = returnType switch
        {
            _ when returnType == typeof(Task) => (GrainMethodKind.Task, null),
            _ when returnType == typeof(ValueTask) => (GrainMethodKind.ValueTask, null),
            { IsGenericType: true } when returnType.GetGenericTypeDefinition() == typeof(Task<>) => (GrainMethodKind.TaskOfT, returnType.GetGenericArguments()[0]),
            { IsGenericType: true } when returnType.GetGenericTypeDefinition() == typeof(ValueTask<>) => (GrainMethodKind.ValueTaskOfT, returnType.GetGenericArguments()[0]),
            { IsGenericType: true } when returnType.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>) => (GrainMethodKind.AsyncEnumerable, returnType.GetGenericArguments()[0]),
            _ => throw new NotSupportedException(
                $"Grain method {where} returns {returnType.Name}; grain methods must return Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T>."),
        };

        if (method.ContainsGenericParameters)
        {
            // Open generic methods would need a proxy per instantiation; our grain contracts do not use them.
            throw new NotSupportedException($"Grain method {where} is generic; generic grain methods are not supported.");
        }

        return new GrainMethod(method, kind, result, tokenIndex);
    }

    /// <summary>Runs the method on the grain (inside its turn) and waits for the result. Never used for streams.</summary>
    public Task<object?> InvokeAsync(object grain, object?[] args)
    {
        // DoNotWrapExceptions: grain exceptions reach the caller as thrown, not as TargetInvocationException.
        var returned = Method.Invoke(grain, BindingFlags.DoNotWrapExceptions, binder: null, args, culture: null)
            ?? throw new InvalidOperationException($"Grain method {Name} returned null instead of a task.");
        return _awaitResult!(returned);
    }

    /// <summary>Starts the method on the grain and returns its stream (inside the turn of the stream request).</summary>
    public IAsyncEnumerable<T> InvokeStream<T>(object grain, object?[] args) =>
        (IAsyncEnumerable<T>)(Method.Invoke(grain, BindingFlags.DoNotWrapExceptions, binder: null, args, culture: null)
            ?? throw new InvalidOperationException($"Grain method {Name} returned null instead of a stream."));

    /// <summary>Turns the runtime's completion into what the interface method declares (proxy side).</summary>
    public object ToDeclaredResult(Task<object?> completion) => _toDeclaredResult!(completion);

    public object CreateStream(GrainReferenceProxy reference, object?[] args) => _createStream!(reference, this, args);

    private static async Task<object?> AwaitTaskOfT<T>(object task) => await ((Task<T>)task).ConfigureAwait(false);

    private static async Task<object?> AwaitValueTaskOfT<T>(object task) => await ((ValueTask<T>)task).ConfigureAwait(false);

    private static object CastTask<T>(Task<object?> completion) => Cast<T>(completion);

    private static object CastValueTask<T>(Task<object?> completion) => new ValueTask<T>(Cast<T>(completion));

    private static async Task<T> Cast<T>(Task<object?> completion) => (T)(await completion.ConfigureAwait(false))!;

    private static object CreateStream<T>(GrainReferenceProxy reference, GrainMethod method, object?[] args) => new GrainStream<T>(reference, method, args);
}
