namespace OrleansCodex.Grains.Conversations;

/// <summary>Response status, with OpenAI's spelling.</summary>
public static class ResponseStatus
{
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Incomplete = "incomplete";
}

/// <summary>A turn as the conversation stored it.</summary>
public sealed record StoredResponse
{
    public required string Id { get; init; }
    public required string ConversationId { get; init; }
    public string? PreviousResponseId { get; init; }
    public required string Model { get; init; }

    /// <summary>One of <see cref="ResponseStatus"/>.</summary>
    public required string Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public string? Instructions { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public required IReadOnlyList<InputMessage> Input { get; init; }

    /// <summary>The assistant's answer (empty until completed).</summary>
    public string OutputText { get; init; } = "";

    public TokenUsage? Usage { get; init; }
    public TurnError? Error { get; init; }
    public string? ReasoningEffort { get; init; }

    /// <summary>The structured output the client asked for (<c>text.format</c>), or null for plain text.</summary>
    public OutputFormat? OutputFormat { get; init; }
}
