namespace OrleansCodex.Api.Turns;

/// <summary>What a turn endpoint tells the request log: the ids, model and provider of the turn and how it ended.</summary>
public sealed class TurnLogFeature
{
    public required string ResponseId { get; init; }
    public required string ConversationId { get; init; }
    public required string Model { get; init; }
    public required string Provider { get; init; }

    /// <summary>A <c>ResponseStatus</c> value; <c>in_progress</c> until the turn ends.</summary>
    public string Status { get; set; } = "in_progress";

    public string? ErrorCode { get; set; }
}
