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
}
