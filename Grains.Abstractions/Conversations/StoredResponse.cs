namespace OrleansCodex.Grains.Conversations;

/// <summary>Response status, with OpenAI's spelling.</summary>
public static class ResponseStatus
{
    public const string Queued = "queued";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Incomplete = "incomplete";
}

/// <summary>A response as its conversation holds it: the one projection that GET and the stream's lifecycle events are built from.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.StoredResponse")]
public sealed record StoredResponse
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string ConversationId { get; init; }
    [Id(2)] public string? PreviousResponseId { get; init; }
    [Id(3)] public required string Model { get; init; }

    /// <summary>One of <see cref="ResponseStatus"/>.</summary>
    [Id(4)] public required string Status { get; init; }

    [Id(5)] public required DateTimeOffset CreatedAt { get; init; }
    [Id(6)] public DateTimeOffset? CompletedAt { get; init; }
    [Id(7)] public string? Instructions { get; init; }
    [Id(8)] public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    [Id(9)] public required IReadOnlyList<InputMessage> Input { get; init; }

    /// <summary>The assistant's answer (empty until completed).</summary>
    [Id(10)] public string OutputText { get; init; } = "";

    [Id(11)] public TokenUsage? Usage { get; init; }
    [Id(12)] public TurnError? Error { get; init; }
    [Id(13)] public string? ReasoningEffort { get; init; }

    /// <summary>The structured output the client asked for (<c>text.format</c>), or null for plain text.</summary>
    [Id(14)] public OutputFormat? OutputFormat { get; init; }

    /// <summary>False for a <c>store:false</c> turn: it is never written to the turn log and cannot be fetched or continued.</summary>
    [Id(15)] public bool Store { get; init; } = true;

    /// <summary>The request parameters echoed as given (see <see cref="ResponseEcho"/>).</summary>
    [Id(16)] public ResponseEcho? Echo { get; init; }

    /// <summary>A turn as its conversation accepts it: in progress, nothing produced yet.</summary>
    public static StoredResponse Accepted(TurnRequest request, string conversationId) => new()
    {
        Id = request.ResponseId,
        ConversationId = conversationId,
        PreviousResponseId = request.PreviousResponseId,
        Model = request.Model,
        Status = ResponseStatus.InProgress,
        CreatedAt = request.CreatedAt,
        Instructions = request.Instructions,
        Metadata = request.Metadata,
        Input = request.Input,
        ReasoningEffort = request.ReasoningEffort,
        OutputFormat = request.OutputFormat,
        Store = request.Store,
        Echo = request.Echo,
    };
}
