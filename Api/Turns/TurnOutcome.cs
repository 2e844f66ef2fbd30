using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Turns;

/// <summary>How a streamed turn ended, for the request log.</summary>
public sealed record TurnOutcome(string Status, string? ErrorCode = null)
{
    public static readonly TurnOutcome Completed = new(ResponseStatus.Completed);

    public static readonly TurnOutcome ClientGone = new(ResponseStatus.Cancelled, TurnErrorCodes.Cancelled);

    public static TurnOutcome Failed(TurnError error) =>
        new(error.Code == TurnErrorCodes.Cancelled ? ResponseStatus.Cancelled : ResponseStatus.Failed, error.Code);

    /// <summary>The error used when a turn's stream ends without a terminal event or throws.</summary>
    public static readonly TurnError Broken = new(TurnErrorCodes.ServerError, "The turn ended without a result. Please retry.");

    /// <summary>The error a grain call's exception stands for: the cluster's node and timeout failures keep their meaning, the rest is <see cref="Broken"/>.</summary>
    public static TurnError FromException(Exception exception) => exception switch
    {
        SiloUnavailableException or DuplicateActivationException => new(TurnErrorCodes.NodeUnavailable,
            "The server node running this conversation became unavailable; the turn may not have finished. Retry it (the conversation continues on another node)."),
        NoEligibleNodeException => new(TurnErrorCodes.ProviderUnavailable,
            "No server node of the cluster serves this model's provider right now (see Cluster:Providers and /health). Retry later or use another model."),
        TimeoutException => new(TurnErrorCodes.Timeout,
            "The server node running this conversation stopped answering; the turn may not have finished. Retry it."),
        _ => Broken,
    };
}
