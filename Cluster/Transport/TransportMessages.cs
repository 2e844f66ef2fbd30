using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansCodex.Cluster.Transport;

/// <summary>The wire format of node-to-node calls (version 1): route and headers, and the envelopes around grain values.</summary>
internal static class TransportProtocol
{
    public const string CallsPath = "/_cluster/v1/calls";

    /// <summary>The cluster secret, compared in constant time.</summary>
    public const string SecretHeader = "X-Cluster-Secret";

    /// <summary>Node id of the incarnation the caller means to reach.</summary>
    public const string TargetNodeHeader = "X-Cluster-Target-Node";

    /// <summary>Incarnation the caller means to reach; another incarnation of the same node id answers 410.</summary>
    public const string TargetIncarnationHeader = "X-Cluster-Target-Incarnation";

    public const string JsonContentType = "application/json";

    public const string NdjsonContentType = "application/x-ndjson";

    /// <summary>Items stay on one line because they are written with a non-indenting writer whatever the serializer options say.</summary>
    public static readonly JsonWriterOptions LineWriterOptions = new() { Indented = false, SkipValidation = false };
}

/// <summary>A call: which grain, which method (declaring interface and signature), and its arguments without the cancellation token.</summary>
internal sealed record GrainCallRequest(string GrainType, string GrainKey, string Interface, string Method, IReadOnlyList<JsonElement> Arguments);

/// <summary>The answer to a <c>Task&lt;T&gt;</c> call (<see cref="Result"/>) or a failure (<see cref="Error"/>).</summary>
internal sealed record GrainCallResponse
{
    /// <summary>Null when absent or JSON <c>null</c> (the two are the same to the caller).</summary>
    public JsonElement? Result { get; init; }

    public RemoteError? Error { get; init; }
}

/// <summary>
/// One NDJSON line of a streamed call: an item, a <c>{"keepAlive":true}</c> written while the grain is quiet, or the terminal
/// <c>{"end":true}</c> or <c>{"error":…}</c>. Items are wrapped so that an item that happens to have an <c>end</c>, <c>error</c> or
/// <c>keepAlive</c> property is never taken for anything else.
/// </summary>
internal sealed record StreamLine
{
    /// <summary>Null when absent or JSON <c>null</c> (an item that is null).</summary>
    public JsonElement? Item { get; init; }

    public bool? End { get; init; }

    /// <summary>
    /// True on a line that carries nothing but shows the serving node is alive (see <see cref="ClusterTransportOptions.StreamKeepAliveInterval"/>);
    /// the caller skips it and restarts its wait for the next line.
    /// </summary>
    public bool? KeepAlive { get; init; }

    public RemoteError? Error { get; init; }
}

/// <summary>An exception as it crosses nodes: full type name and message, plus what the runtime's own exceptions carry.</summary>
internal sealed record RemoteError(string Type, string Message)
{
    /// <summary><see cref="InconsistentStateException.StoredEtag"/>.</summary>
    public string? StoredEtag { get; init; }

    /// <summary><see cref="InconsistentStateException.CurrentEtag"/>.</summary>
    public string? CurrentEtag { get; init; }

    /// <summary>For <see cref="SiloUnavailableException"/>: true when the call certainly ran no grain code (see <see cref="SiloUnavailableException.NotDelivered"/>).</summary>
    public bool? NotDelivered { get; init; }

    /// <summary>For a stale target: the node id actually reached.</summary>
    public string? ActualNodeId { get; init; }

    /// <summary>For a stale target: the incarnation actually reached (absent when the node serves no incarnation).</summary>
    public long? ActualIncarnation { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GrainCallRequest))]
[JsonSerializable(typeof(GrainCallResponse))]
[JsonSerializable(typeof(StreamLine))]
internal sealed partial class TransportJsonContext : JsonSerializerContext;
