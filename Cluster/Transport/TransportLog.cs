using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.Membership;

namespace OrleansCodex.Cluster.Transport;

/// <summary>The transport's log events; ids are stable so that operators can alert on them. The secret is never logged.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Refused a grain call from {RemoteAddress}: missing or wrong cluster secret")]
    public static partial void SecretRejected(this ILogger logger, string? remoteAddress);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Refused a grain call addressed to {Target}: this node is {Actual}")]
    public static partial void StaleTarget(this ILogger logger, NodeAddress target, NodeAddress? actual);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "{Method} on {GrainId} at node {Target} timed out after {Timeout}; its outcome is unknown")]
    public static partial void CallTimedOut(this ILogger logger, string method, GrainId grainId, NodeAddress target, TimeSpan timeout);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "Node {Target} refused this node's cluster secret")]
    public static partial void SecretRefused(this ILogger logger, NodeAddress target);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Aborted {Count} call(s) in flight to node {Target}, declared dead; their outcome is unknown")]
    public static partial void CallsAborted(this ILogger logger, int count, NodeAddress target);
}
