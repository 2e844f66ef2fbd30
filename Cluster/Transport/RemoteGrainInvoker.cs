using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Transport;

/// <summary>
/// The calling side of node-to-node calls, shaped like <see cref="LocalGrainInvoker"/> plus the target node, so a grain reference can
/// send a call to another node by choosing this invoker. Semantics as in Orleans: a timeout means the outcome is unknown and the call
/// is never resubmitted; a node that cannot be reached fails the call at once with <see cref="SiloUnavailableException"/>; the
/// caller's cancellation aborts the request, which cancels the call on the target node; calls in flight to a node incarnation that is
/// declared dead fail with <see cref="SiloUnavailableException"/> once membership reports it (<see cref="AbortCallsTo"/>).
/// </summary>
internal sealed class RemoteGrainInvoker : IDisposable
{
    private static readonly MediaTypeHeaderValue _jsonContentType = new(TransportProtocol.JsonContentType);

    private readonly HttpClient _client;
    private readonly ClusterTransportOptions _options;
    private readonly JsonSerializerOptions _serializerOptions;
    private readonly RemoteExceptions _exceptions;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RemoteGrainInvoker> _logger;

    // Calls in flight per target incarnation, each by the source that aborts it when that incarnation is declared dead.
    private readonly ConcurrentDictionary<NodeAddress, TargetCalls> _inFlight = new();

    public RemoteGrainInvoker(
        IOptions<ClusterTransportOptions> options,
        IOptions<GrainCallSerializationOptions> serialization,
        TimeProvider timeProvider,
        ILogger<RemoteGrainInvoker> logger)
    {
        _options = options.Value;
        _serializerOptions = serialization.Value.SerializerOptions;
        _exceptions = new RemoteExceptions(serialization.Value.ExceptionTypes);
        _timeProvider = timeProvider;
        _logger = logger;
        _client = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            // Nodes come and go; recycle connections so a replaced address is looked up again.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // An abandoned stream closes its connection at once instead of draining it, which is what tells the target to stop.
            MaxResponseDrainSize = 0,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        })
        {
            // Timeouts are ours (per call, per stream item), never HttpClient's.
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>Calls a method returning a task on <paramref name="target"/>; completes with its result (null for <c>Task</c>).</summary>
    public async Task<object?> InvokeAsync(RemoteNode target, GrainId grainId, GrainMethod method, object?[] args, CancellationToken cancellationToken)
    {
        if (method.Kind == GrainMethodKind.AsyncEnumerable)
        {
            throw new ArgumentException($"{method.Name} returns a stream; use {nameof(InvokeStreamAsync)}.", nameof(method));
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var request = CreateRequest(target, grainId, method, args);
        using var call = Track(target.Address);
        using var timeout = new CancellationTokenSource(_options.CallTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, call.Aborted);
        RemoteError? failure;
        GrainCallResponse? answer = null;
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            failure = await ReadFailureAsync(target, response, linked.Token).ConfigureAwait(false);
            if (failure is null && method.Kind is GrainMethodKind.TaskOfT or GrainMethodKind.ValueTaskOfT)
            {
                var body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
                answer = await JsonSerializer.DeserializeAsync(body, TransportJsonContext.Default.GrainCallResponse, linked.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            throw TransportFailure(ex, target, grainId, method, cancellationToken, call.Aborted, timeout.Token);
        }

        if (failure is not null)
        {
            throw ToException(target, failure);
        }

        if (method.Kind is GrainMethodKind.Task or GrainMethodKind.ValueTask)
        {
            return null;
        }

        return answer?.Result is { } result
            ? result.Deserialize(method.ResultType!, _serializerOptions)
            : NullResult(method.ResultType!, $"{method.Name} on {grainId} at node {target}");
    }

    /// <summary>
    /// Calls a streaming method on <paramref name="target"/>. Nothing is sent until enumeration starts. <see cref="ClusterTransportOptions.CallTimeout"/>
    /// bounds the wait for each next line: an item, or a keep-alive that the target writes while the grain is quiet (see
    /// <see cref="ClusterTransportOptions.StreamKeepAliveInterval"/>), so only a silent target times out. Time the caller spends between
    /// items does not count.
    /// </summary>
    public async IAsyncEnumerable<T> InvokeStreamAsync<T>(
        RemoteNode target, GrainId grainId, GrainMethod method, object?[] args, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (method.Kind != GrainMethodKind.AsyncEnumerable)
        {
            throw new ArgumentException($"{method.Name} does not return a stream; use {nameof(InvokeAsync)}.", nameof(method));
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var request = CreateRequest(target, grainId, method, args);
        using var call = Track(target.Address);
        using var timeout = new CancellationTokenSource(_options.CallTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, call.Aborted);
        var token = linked.Token;

        // Disposing the response (on completion, failure, cancellation or an early stop) closes the connection, cancelling the grain side.
        using var response = await Guard(_client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token)).ConfigureAwait(false);
        var failure = await Guard(ReadFailureAsync(target, response, token)).ConfigureAwait(false);
        if (failure is not null)
        {
            throw ToException(target, failure);
        }

        using var reader = new StreamReader(await Guard(response.Content.ReadAsStreamAsync(token)).ConfigureAwait(false), Encoding.UTF8);
        while (true)
        {
            // Lines already buffered are not handed out once the caller cancelled or the target was declared dead.
            if (cancellationToken.IsCancellationRequested || call.Aborted.IsCancellationRequested)
            {
                throw TransportFailure(new OperationCanceledException(token), target, grainId, method, cancellationToken, call.Aborted, timeout.Token);
            }

            timeout.CancelAfter(_options.CallTimeout);
            var text = await Guard(reader.ReadLineAsync(token).AsTask()).ConfigureAwait(false);
            timeout.CancelAfter(Timeout.InfiniteTimeSpan);
            if (text is null)
            {
                throw new SiloUnavailableException(
                    $"The stream of {method.Name} on {grainId} from node {target} ended without its end marker (connection lost); the call may have been partly run.");
            }

            if (text.Length == 0)
            {
                continue;
            }

            var line = JsonSerializer.Deserialize(text, TransportJsonContext.Default.StreamLine)
                ?? throw new InvalidOperationException($"Node {target} sent an empty stream line for {method.Name}.");
            if (line.KeepAlive == true)
            {
                // The target is alive and the grain quiet; the next read waits a full CallTimeout again.
                continue;
            }

            if (line.Error is not null)
            {
                throw ToException(target, line.Error);
            }

            if (line.End == true)
            {
                yield break;
            }

            yield return line.Item is { } item ? item.Deserialize<T>(_serializerOptions)! : (T)NullResult(typeof(T), $"{method.Name} on {grainId} at node {target}")!;
        }

        async Task<TResult> Guard<TResult>(Task<TResult> operation)
        {
            try
            {
                return await operation.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                throw TransportFailure(ex, target, grainId, method, cancellationToken, call.Aborted, timeout.Token);
            }
        }
    }

    /// <summary>
    /// Fails every call in flight to <paramref name="node"/> (task calls and streams, whether waiting for an answer or between stream
    /// items) with <see cref="SiloUnavailableException"/>, as Orleans does once membership declares a silo dead: the connection is
    /// dropped and the calls are not resubmitted, since they may or may not have run. Only that incarnation is affected; calls started
    /// afterwards are not refused here (routing stops choosing a dead node). Safe to call from any thread, as often as membership changes.
    /// </summary>
    /// <returns>How many calls were aborted.</returns>
    internal int AbortCallsTo(NodeAddress node)
    {
        if (!_inFlight.TryRemove(node, out var calls))
        {
            return 0;
        }

        CancellationTokenSource[] sources;
        lock (calls)
        {
            calls.Closed = true;
            sources = [.. calls.Sources];
            calls.Sources.Clear();
        }

        // Cancelled outside the lock: cancellation runs the calls' callbacks inline, and a call ending removes itself under that lock.
        var aborted = 0;
        foreach (var source in sources)
        {
            try
            {
                source.Cancel();
                aborted++;
            }
            catch (ObjectDisposedException)
            {
                // The call ended meanwhile.
            }
            catch (AggregateException)
            {
                // A callback of the call's own machinery threw; the call is cancelled all the same, and the others still need aborting.
                aborted++;
            }
        }

        if (aborted > 0)
        {
            _logger.CallsAborted(aborted, node);
        }

        return aborted;
    }

    /// <summary>Registers a call to <paramref name="target"/> so that <see cref="AbortCallsTo"/> can fail it; disposing unregisters it.</summary>
    private InFlightCall Track(NodeAddress target)
    {
        var source = new CancellationTokenSource();
        while (true)
        {
            var calls = _inFlight.GetOrAdd(target, static _ => new TargetCalls());
            lock (calls)
            {
                if (!calls.Closed)
                {
                    calls.Sources.Add(source);
                    return new InFlightCall(this, target, calls, source);
                }
            }

            // Closed by an abort or by its last call ending, and being removed: help remove it, then register in a fresh set.
            _inFlight.TryRemove(KeyValuePair.Create(target, calls));
        }
    }

    private void Untrack(NodeAddress target, TargetCalls calls, CancellationTokenSource source)
    {
        lock (calls)
        {
            if (calls.Sources.Remove(source) && calls.Sources.Count == 0)
            {
                // The last call to this target: drop the entry, so that departed incarnations do not accumulate.
                calls.Closed = true;
                _inFlight.TryRemove(KeyValuePair.Create(target, calls));
            }
        }

        source.Dispose();
    }

    /// <summary>A null result (JSON <c>null</c> or absent), which only reference and nullable types can take.</summary>
    private static object? NullResult(Type type, string call) =>
        !type.IsValueType || Nullable.GetUnderlyingType(type) is not null
            ? null
            : throw new InvalidOperationException($"{call} answered null for {type.Name}, which cannot be null.");

    private HttpRequestMessage CreateRequest(RemoteNode target, GrainId grainId, GrainMethod method, object?[] args)
    {
        var parameters = method.Method.GetParameters();
        var arguments = new JsonElement[method.CancellationTokenIndex >= 0 ? parameters.Length - 1 : parameters.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            // By the declared type, as the receiver reads them: a derived runtime type must not add or lose properties.
            arguments[i] = JsonSerializer.SerializeToElement(args[i], parameters[i].ParameterType, _serializerOptions);
        }

        var call = new GrainCallRequest(grainId.Type, grainId.Key, GrainCallResolver.InterfaceName(method.Method), GrainCallResolver.Signature(method.Method), arguments);
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(call, TransportJsonContext.Default.GrainCallRequest));
        content.Headers.ContentType = _jsonContentType;
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.Endpoint, TransportProtocol.CallsPath)) { Content = content };
        request.Headers.Add(TransportProtocol.SecretHeader, _options.Secret);
        request.Headers.Add(TransportProtocol.TargetNodeHeader, target.Address.NodeId);
        request.Headers.Add(TransportProtocol.TargetIncarnationHeader, target.Address.Incarnation.ToString(CultureInfo.InvariantCulture));
        return request;
    }

    /// <summary>The error a non-success answer carries, or null for success.</summary>
    private static async Task<RemoteError?> ReadFailureAsync(RemoteNode target, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        GrainCallResponse? body = null;
        if (response.Content.Headers.ContentType?.MediaType == TransportProtocol.JsonContentType)
        {
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                body = await JsonSerializer.DeserializeAsync(stream, TransportJsonContext.Default.GrainCallResponse, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
            }
        }

        return body?.Error ?? new RemoteError(typeof(InvalidOperationException).FullName!,
            $"Node {target} answered {(int)response.StatusCode} {response.ReasonPhrase} without an error description.");
    }

    private Exception ToException(RemoteNode target, RemoteError error)
    {
        if (error.Type == typeof(StaleTargetException).FullName)
        {
            NodeAddress? actual = error is { ActualNodeId: { } node, ActualIncarnation: { } incarnation } ? new NodeAddress(node, incarnation) : null;
            return new StaleTargetException(target.Address, actual, error.Message);
        }

        if (error.Type == typeof(UnauthorizedAccessException).FullName)
        {
            _logger.SecretRefused(target.Address);
            return new UnauthorizedAccessException($"Node {target} refused this node's cluster secret; Cluster:Secret must be the same on every node.");
        }

        return _exceptions.ToException(error);
    }

    private Exception TransportFailure(
        Exception exception, RemoteNode target, GrainId grainId, GrainMethod method, CancellationToken cancellationToken, CancellationToken aborted, CancellationToken timeout)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException($"The call of {method.Name} on {grainId} at node {target} was cancelled by the caller.", exception, cancellationToken);
        }

        if (aborted.IsCancellationRequested)
        {
            return new SiloUnavailableException(
                $"Node {target} was declared dead during the call of {method.Name} on {grainId}; the call may or may not have run and is not resubmitted.");
        }

        if (timeout.IsCancellationRequested)
        {
            _logger.CallTimedOut(method.Name, grainId, target.Address, _options.CallTimeout);
            return new TimeoutException(
                $"The call of {method.Name} on {grainId} at node {target} got no answer within Cluster:CallTimeout ({_options.CallTimeout}); " +
                "it may or may not have run and is not resubmitted.", exception);
        }

        if (exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }
            || exception is OperationCanceledException)
        {
            // Refused, unresolvable or not connected within Cluster:ConnectTimeout (the only other cancellation): nothing was sent.
            return new SiloUnavailableException($"Node {target} cannot be reached ({exception.Message}); {method.Name} on {grainId} was not delivered.", notDelivered: true);
        }

        return new SiloUnavailableException(
            $"The connection to node {target} failed during the call of {method.Name} on {grainId} ({exception.Message}); it may or may not have run and is not resubmitted.");
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The calls in flight to one target incarnation; guarded by locking the instance. A closed set is being removed and takes no more calls.</summary>
    private sealed class TargetCalls
    {
        public HashSet<CancellationTokenSource> Sources { get; } = [];

        public bool Closed { get; set; }
    }

    /// <summary>One registered call: <see cref="Aborted"/> is cancelled when its target is declared dead; disposing unregisters it.</summary>
    private sealed class InFlightCall(RemoteGrainInvoker owner, NodeAddress target, TargetCalls calls, CancellationTokenSource source) : IDisposable
    {
        public CancellationToken Aborted { get; } = source.Token;

        public void Dispose() => owner.Untrack(target, calls, source);
    }
}
