using Microsoft.Extensions.Logging;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>The catalog's log events; ids are stable so that operators can alert on them.</summary>
internal static partial class CatalogLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "Activated {GrainId} (activation {ActivationId})")]
    public static partial void Activated(this ILogger logger, GrainId grainId, long activationId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Activation of {GrainId} (activation {ActivationId}) failed; the next call retries")]
    public static partial void ActivationFailed(this ILogger logger, Exception exception, GrainId grainId, long activationId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Deactivated {GrainId} (activation {ActivationId}): {Reason}")]
    public static partial void Deactivated(this ILogger logger, GrainId grainId, long activationId, DeactivationReasonCode reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Deactivating {GrainId} (activation {ActivationId}, {Reason}) threw; it is removed anyway")]
    public static partial void DeactivationFailed(this ILogger logger, Exception exception, GrainId grainId, long activationId, DeactivationReasonCode reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "Stale state in {GrainId} (activation {ActivationId}) during {Method}: expected version {ExpectedEtag}, storage has {StoredEtag}; deactivating it")]
    public static partial void InconsistentState(this ILogger logger, GrainId grainId, long activationId, string method, string? expectedEtag, string? storedEtag);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Debug, Message = "Collecting {Count} idle activations")]
    public static partial void IdleActivationsCollected(this ILogger logger, int count);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "{Count} activations were still deactivating after the shutdown timeout of {Timeout}")]
    public static partial void ShutdownTimedOut(this ILogger logger, int count, TimeSpan timeout);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Removing grain {GrainId} activation {ActivationId} from the grain directory failed; the next activation replaces the entry")]
    public static partial void UnregisterFailed(this ILogger logger, Exception exception, GrainId grainId, long activationId);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Grain {GrainId} activation {ActivationId} not started: {Reason}")]
    public static partial void ActivationElsewhere(this ILogger logger, GrainId grainId, long activationId, string reason);
}
