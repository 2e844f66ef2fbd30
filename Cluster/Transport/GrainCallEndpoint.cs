using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Reflection;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Runtime;

namespace OrleansCodex.Cluster.Transport;

/// <summary>Maps the endpoint other nodes call grains of this node through.</summary>
public static class GrainTransportEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /_cluster/v1/calls</c>. Every request must carry the cluster secret (else 401, before anything else is read) and
    /// address this node's current incarnation (else 410). Requires <c>AddClusterTransport</c> and an <see cref="ILocalNodeIdentity"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapGrainTransport(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var server = endpoints.ServiceProvider.GetService<GrainCallServer>()
            ?? throw new InvalidOperationException("MapGrainTransport needs AddClusterTransport(configuration) on the service collection.");
        endpoints.MapPost(TransportProtocol.CallsPath, server.HandleAsync).ExcludeFromDescription();
        return endpoints;
    }
}

/// <summary>The receiving side of node-to-node calls: authenticates, checks the target incarnation, and runs the call on a local activation.</summary>
internal sealed class GrainCallServer(
    ClusterSecret secret,
    IServiceProvider services,
    GrainCallResolver resolver,
    LocalGrainInvoker invoker,
    IOptions<ClusterTransportOptions> options,
    IOptions<GrainCallSerializationOptions> serialization,
    TimeProvider timeProvider,
    ILogger<GrainCallServer> logger)
{
    private static readonly MethodInfo _streamDefinition = typeof(GrainCallServer).GetMethod(nameof(StreamAsync), BindingFlags.NonPublic | BindingFlags.Instance)!;

    private static readonly StreamLine _keepAlive = new() { KeepAlive = true };

    private static readonly StreamLine _end = new() { End = true };

    private readonly TimeSpan _keepAliveInterval = options.Value.StreamKeepAliveInterval;

    private readonly ConcurrentDictionary<GrainMethod, Func<HttpContext, GrainId, GrainMethod, object?[], Task>> _streamers = new();
    private readonly JsonSerializerOptions _serializerOptions = serialization.Value.SerializerOptions;

    // Resolved on first call rather than at construction, so that a host maps the endpoint before its membership agent exists.
    private ILocalNodeIdentity Identity => services.GetService<ILocalNodeIdentity>()
        ?? throw new InvalidOperationException($"The grain transport needs an {nameof(ILocalNodeIdentity)} service (the node's membership provides it).");

    public async Task HandleAsync(HttpContext context)
    {
        if (!secret.Matches(context.Request.Headers[TransportProtocol.SecretHeader]))
        {
            logger.SecretRejected(context.Connection.RemoteIpAddress?.ToString());
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized,
                new RemoteError(typeof(UnauthorizedAccessException).FullName!, "The cluster secret is missing or wrong."));
            return;
        }

        if (!TryReadTarget(context.Request, out var target))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, new RemoteError(typeof(ArgumentException).FullName!,
                $"Headers {TransportProtocol.TargetNodeHeader} and {TransportProtocol.TargetIncarnationHeader} are required."));
            return;
        }

        var self = Identity.Address;
        if (self != target)
        {
            logger.StaleTarget(target, self);
            await WriteErrorAsync(context, StatusCodes.Status410Gone, new RemoteError(typeof(StaleTargetException).FullName!,
                $"The call was addressed to {target} but reached {(self is { } actual ? actual.ToString() : "a node that serves no incarnation")}.")
            {
                ActualNodeId = self?.NodeId,
                ActualIncarnation = self?.Incarnation,
            });
            return;
        }

        var aborted = context.RequestAborted;
        GrainId grainId;
        GrainMethod method;
        object?[] args;
        try
        {
            var call = await JsonSerializer.DeserializeAsync(context.Request.Body, TransportJsonContext.Default.GrainCallRequest, aborted)
                ?? throw new JsonException("The request body is null.");
            method = resolver.Resolve(call);
            grainId = new GrainId(call.GrainType, call.GrainKey);
            args = ReadArguments(call, method);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, RemoteExceptions.ToRemote(ex is JsonException
                ? new ArgumentException($"The call could not be read: {ex.Message}") : ex));
            return;
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            return;
        }

        if (method.Kind == GrainMethodKind.AsyncEnumerable)
        {
            var stream = _streamers.GetOrAdd(method, static (m, self) => self.CreateStreamer(m), this);
            await stream(context, grainId, method, args);
        }
        else
        {
            await InvokeAsync(context, grainId, method, args);
        }
    }

    private static bool TryReadTarget(HttpRequest request, out NodeAddress target)
    {
        target = default;
        var node = request.Headers[TransportProtocol.TargetNodeHeader];
        var incarnation = request.Headers[TransportProtocol.TargetIncarnationHeader];
        if (node.Count != 1 || string.IsNullOrEmpty(node[0]) || incarnation.Count != 1
            || !long.TryParse(incarnation[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        target = new NodeAddress(node[0]!, value);
        return true;
    }

    private object?[] ReadArguments(GrainCallRequest call, GrainMethod method)
    {
        var parameters = method.Method.GetParameters();
        var expected = method.CancellationTokenIndex >= 0 ? parameters.Length - 1 : parameters.Length;
        if (call.Arguments.Count != expected)
        {
            throw new ArgumentException($"{method.Name} takes {expected} argument(s); the call carries {call.Arguments.Count}.");
        }

        var args = new object?[parameters.Length];
        for (var i = 0; i < expected; i++)
        {
            try
            {
                args[i] = call.Arguments[i].Deserialize(parameters[i].ParameterType, _serializerOptions);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"Argument '{parameters[i].Name}' of {method.Name} could not be read as {parameters[i].ParameterType.Name}: {ex.Message}");
            }
        }

        return args;
    }

    private async Task InvokeAsync(HttpContext context, GrainId grainId, GrainMethod method, object?[] args)
    {
        var aborted = context.RequestAborted;
        object? result;
        try
        {
            result = await invoker.InvokeAsync(grainId, method, args, aborted);
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The caller is gone (cancelled, timed out or disconnected): nobody reads an answer.
            return;
        }
        catch (Exception ex)
        {
            await WriteErrorAsync(context, StatusFor(ex), RemoteExceptions.ToRemote(ex));
            return;
        }

        if (method.Kind is GrainMethodKind.Task or GrainMethodKind.ValueTask)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        // Serialized before the status is sent, so that a result the serializer cannot write is still reported as an error.
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            using var writer = new Utf8JsonWriter(buffer, TransportProtocol.LineWriterOptions);
            writer.WriteStartObject();
            writer.WritePropertyName("result"u8);
            JsonSerializer.Serialize(writer, result, method.ResultType!, _serializerOptions);
            writer.WriteEndObject();
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, RemoteExceptions.ToRemote(ex));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = TransportProtocol.JsonContentType;
        context.Response.ContentLength = buffer.WrittenCount;
        await WriteIgnoringAbortAsync(context, buffer.WrittenMemory);
    }

    private Func<HttpContext, GrainId, GrainMethod, object?[], Task> CreateStreamer(GrainMethod method) =>
        _streamDefinition.MakeGenericMethod(method.ResultType!).CreateDelegate<Func<HttpContext, GrainId, GrainMethod, object?[], Task>>(this);

    /// <summary>
    /// Runs a streamed call, writing one NDJSON line per item and then the end (or the error). One loop does all the writing and is the
    /// only one to move the grain's enumerator; while a move is pending it wakes up every <see cref="ClusterTransportOptions.StreamKeepAliveInterval"/>
    /// to write a keep-alive line, so that the caller's per-line timeout measures whether this node is alive, not how quiet the grain is.
    /// </summary>
    private async Task StreamAsync<T>(HttpContext context, GrainId grainId, GrainMethod method, object?[] args)
    {
        var aborted = context.RequestAborted;
        // The grain's enumeration gets its own source so that leaving with a move still pending (the caller went away while the grain was
        // quiet) can end it before the enumerator is disposed; an enumerator must not be disposed while it moves.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var items = invoker.InvokeStreamAsync<T>(grainId, method, args, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = items.MoveNextAsync().AsTask();
        var started = false;
        try
        {
            var body = context.Response.BodyWriter;
            var buffer = new ArrayBufferWriter<byte>();
            using var json = new Utf8JsonWriter(buffer, TransportProtocol.LineWriterOptions);
            while (true)
            {
                if (!next.IsCompleted)
                {
                    await ((Task)next).WaitAsync(_keepAliveInterval, timeProvider, aborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (aborted.IsCancellationRequested)
                    {
                        return;
                    }

                    if (!next.IsCompleted)
                    {
                        // Quiet for a whole interval. Before the first item this commits the status: from here on, failures go in-band.
                        if (!started)
                        {
                            Start(context);
                            started = true;
                        }

                        await WriteLineAsync(body, _keepAlive, aborted);
                        continue;
                    }
                }

                bool more;
                try
                {
                    more = await next;
                }
                catch (Exception) when (aborted.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    if (started)
                    {
                        await WriteLineAsync(body, new StreamLine { Error = RemoteExceptions.ToRemote(ex) }, aborted);
                    }
                    else
                    {
                        // Failed before any item and before the first keep-alive (activation, argument checks): a plain error response.
                        await WriteErrorAsync(context, StatusFor(ex), RemoteExceptions.ToRemote(ex));
                    }

                    return;
                }

                if (!started)
                {
                    Start(context);
                    started = true;
                }

                if (!more)
                {
                    await WriteLineAsync(body, _end, aborted);
                    return;
                }

                buffer.ResetWrittenCount();
                json.Reset();
                try
                {
                    json.WriteStartObject();
                    json.WritePropertyName("item"u8);
                    JsonSerializer.Serialize(json, items.Current, _serializerOptions);
                    json.WriteEndObject();
                    json.Flush();
                }
                catch (Exception ex) when (ex is JsonException or NotSupportedException)
                {
                    await WriteLineAsync(body, new StreamLine { Error = RemoteExceptions.ToRemote(ex) }, aborted);
                    return;
                }

                body.Write(buffer.WrittenSpan);
                body.Write("\n"u8);
                await body.FlushAsync(aborted);
                next = items.MoveNextAsync().AsTask();
            }
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The caller stopped reading; ending and disposing the enumerator (below) ends the grain's enumeration and its turn.
        }
        finally
        {
            if (!next.IsCompleted)
            {
                await stop.CancelAsync();
                await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await items.DisposeAsync();
        }
    }

    /// <summary>Sets the streamed answer's status and content type; they are sent with the first line.</summary>
    private static void Start(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = TransportProtocol.NdjsonContentType;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private static async Task WriteLineAsync(PipeWriter body, StreamLine line, CancellationToken cancellationToken)
    {
        body.Write(JsonSerializer.SerializeToUtf8Bytes(line, TransportJsonContext.Default.StreamLine));
        body.Write("\n"u8);
        await body.FlushAsync(cancellationToken);
    }

    private static int StatusFor(Exception exception) => exception switch
    {
        SiloUnavailableException => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static async Task WriteErrorAsync(HttpContext context, int status, RemoteError error)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new GrainCallResponse { Error = error }, TransportJsonContext.Default.GrainCallResponse);
        context.Response.StatusCode = status;
        context.Response.ContentType = TransportProtocol.JsonContentType;
        context.Response.ContentLength = body.Length;
        await WriteIgnoringAbortAsync(context, body);
    }

    private static async Task WriteIgnoringAbortAsync(HttpContext context, ReadOnlyMemory<byte> body)
    {
        try
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
        }
    }
}
