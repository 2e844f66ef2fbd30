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
    public static readonly TurnError Broken = TurnErrorCodes.Unfinished;

    /// <summary>Whether a grain call failed because the node holding the grain (or the gateway to it) failed, stopped or did not answer.</summary>
    public static bool IsNodeFailure(Exception exception) =>
        exception is TimeoutException || (exception is OrleansException && exception is not ProviderUnavailableException);

    /// <summary>The error a grain call's exception stands for: the cluster's node and timeout failures keep their meaning, the rest is <see cref="Broken"/>.</summary>
    public static TurnError FromException(Exception exception) => exception switch
    {
        ProviderUnavailableException unavailable => new(TurnErrorCodes.ProviderUnavailable, unavailable.Message),
        TimeoutException => new(TurnErrorCodes.Timeout,
            "The server node running this conversation stopped answering; the turn may not have finished. Retry it."),
        OrleansException => new(TurnErrorCodes.NodeUnavailable,
            "The server node running this conversation became unavailable; the turn may not have finished. Retry it (the conversation continues on another node)."),
        _ => Broken,
    };
}
