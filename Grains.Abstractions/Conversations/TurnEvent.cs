namespace OrleansCodex.Grains.Conversations;

public enum TurnEventKind
{
    /// <summary>A CLI session (Codex thread / Claude session) is known; <see cref="TurnEvent.SessionId"/> is set. Runner-internal.</summary>
    SessionStarted,

    /// <summary>More answer text; <see cref="TurnEvent.Text"/> is the new fragment.</summary>
    TextDelta,

    /// <summary>Terminal: the turn ended; <see cref="TurnEvent.Text"/> is the whole answer, <see cref="TurnEvent.Usage"/> the turn's tokens.</summary>
    Completed,

    /// <summary>Terminal: the turn failed; <see cref="TurnEvent.Error"/> says why.</summary>
    Failed,
}

/// <summary>What a running turn reports. Runners produce them on a node; a conversation numbers them and serves them to watchers.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.TurnEvent")]
public sealed record TurnEvent
{
    [Id(0)] public required TurnEventKind Kind { get; init; }
    [Id(1)] public string? Text { get; init; }
    [Id(2)] public string? SessionId { get; init; }

    /// <summary>
    /// With <see cref="TurnEventKind.SessionStarted"/>: the directory the session lives in, when the runner chose it (a pre-started
    /// Claude process's, for a turn with a fresh working directory); the session resumes only from there.
    /// </summary>
    [Id(3)] public string? WorkingDirectory { get; init; }

    [Id(4)] public TokenUsage? Usage { get; init; }

    /// <summary>For Codex: the thread's running total after this turn (Codex reports totals; a turn's usage is the difference).</summary>
    [Id(5)] public TokenUsage? SessionUsage { get; init; }

    [Id(6)] public TurnError? Error { get; init; }

    /// <summary>The event's position in its turn's log (0 first), set by the conversation; watchers resume after it.</summary>
    [Id(7)] public int Sequence { get; init; }

    /// <summary>On the terminal event a conversation serves: the response as it was finished (the same projection GET returns).</summary>
    [Id(8)] public StoredResponse? Response { get; init; }

    public static TurnEvent Session(string sessionId) => new() { Kind = TurnEventKind.SessionStarted, SessionId = sessionId };
    public static TurnEvent Delta(string text) => new() { Kind = TurnEventKind.TextDelta, Text = text };
    public static TurnEvent Done(string text, TokenUsage usage, TokenUsage? sessionUsage = null) =>
        new() { Kind = TurnEventKind.Completed, Text = text, Usage = usage, SessionUsage = sessionUsage };
    public static TurnEvent Fail(TurnError error) => new() { Kind = TurnEventKind.Failed, Error = error };

    /// <summary>The terminal event of a finished response: <see cref="TurnEventKind.Completed"/> with its text and usage, else <see cref="TurnEventKind.Failed"/>.</summary>
    public static TurnEvent Terminal(StoredResponse response, int sequence) => response.Status == ResponseStatus.Completed
        ? new() { Kind = TurnEventKind.Completed, Text = response.OutputText, Usage = response.Usage ?? TokenUsage.Zero, Response = response, Sequence = sequence }
        : new() { Kind = TurnEventKind.Failed, Error = response.Error ?? TurnErrorCodes.Unfinished, Response = response, Sequence = sequence };

    public bool IsTerminal => Kind is TurnEventKind.Completed or TurnEventKind.Failed;
}

/// <summary>Token counts as the CLI reported them (never estimated).</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.TokenUsage")]
public sealed record TokenUsage(long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens)
{
    public static readonly TokenUsage Zero = new(0, 0, 0, 0);

    public long TotalTokens => InputTokens + OutputTokens;

    public TokenUsage Minus(TokenUsage other) => new(
        Math.Max(0, InputTokens - other.InputTokens),
        Math.Max(0, CachedInputTokens - other.CachedInputTokens),
        Math.Max(0, OutputTokens - other.OutputTokens),
        Math.Max(0, ReasoningTokens - other.ReasoningTokens));
}

/// <summary>Why a turn failed, in terms the HTTP layer maps onto OpenAI's error envelope.</summary>
/// <param name="Code">One of <see cref="TurnErrorCodes"/>.</param>
/// <param name="Message">Safe to show to the client.</param>
/// <param name="Param">The request parameter at fault, for a refusal of the client's request.</param>
[GenerateSerializer, Immutable, Alias("OrleansCodex.TurnError")]
public sealed record TurnError(string Code, string Message, string? Param = null);

/// <summary>The error codes a turn can fail with; <see cref="HttpStatus"/> says how each surfaces over HTTP.</summary>
public static class TurnErrorCodes
{
    /// <summary>The CLI is not installed or not logged in, or no node of the cluster serves the model's CLI (503).</summary>
    public const string ProviderUnavailable = "provider_unavailable";

    /// <summary>The CLI's own login was refused upstream (502): the operator must run <c>codex login</c> / <c>claude</c>.</summary>
    public const string UpstreamAuth = "upstream_auth_error";

    /// <summary>The upstream model service rate-limited the CLI (429).</summary>
    public const string UpstreamRateLimited = "rate_limit_exceeded";

    /// <summary>The upstream does not know the model (404).</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>Any other upstream or CLI failure (502).</summary>
    public const string UpstreamError = "upstream_error";

    /// <summary>The turn ran past its deadline (504).</summary>
    public const string Timeout = "timeout";

    /// <summary>The caller went away or cancelled the turn (499, never seen by that caller).</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The previous response is unknown to the conversation (404).</summary>
    public const string PreviousResponseNotFound = "previous_response_not_found";

    /// <summary>The response is unknown to the conversation (404).</summary>
    public const string ResponseNotFound = "response_not_found";

    /// <summary>All workers are busy and no more turns may wait for one (429, with <c>Retry-After</c>).</summary>
    public const string QueueFull = "queue_full";

    /// <summary>The conversation already has as many turns queued behind its running one as it may (429, with <c>Retry-After</c>).</summary>
    public const string ConversationBusy = "conversation_busy";

    /// <summary>All workers stayed busy for the whole queue timeout (503, with <c>Retry-After</c>).</summary>
    public const string Overloaded = "overloaded";

    /// <summary>The server only allows model servers on this machine (<c>Cli:LocalOnly</c>) and the CLI's provider is not one (400).</summary>
    public const string ProviderNotLocal = "provider_not_local";

    /// <summary>The request asks for more privileges than this node allows (400).</summary>
    public const string PrivilegeNotAllowed = "privilege_not_allowed";

    /// <summary>A request value this node cannot accept, e.g. a timeout above its own (400).</summary>
    public const string InvalidValue = "invalid_value";

    /// <summary>The turn asks for something this node's CLI mode cannot take (e.g. a remote image URL for <c>codex exec</c>) (400).</summary>
    public const string UnsupportedInput = "unsupported_input";

    /// <summary>The CLI session to resume no longer exists on this node (its files are gone); the conversation starts a fresh one.</summary>
    public const string SessionNotFound = "session_not_found";

    /// <summary>The node holding the conversation stopped, died or became unreachable mid-turn (503); the turn may not have finished.</summary>
    public const string NodeUnavailable = "node_unavailable";

    /// <summary>A bug or storage failure on our side (500).</summary>
    public const string ServerError = "server_error";

    /// <summary>The error of a response that ended without a stored error (should not happen; shown rather than nothing).</summary>
    public static readonly TurnError Unfinished = new(ServerError, "The turn ended without a result. Please retry.");

    public static int HttpStatus(string code) => code switch
    {
        ProviderUnavailable or Overloaded or NodeUnavailable => 503,
        UpstreamRateLimited or QueueFull or ConversationBusy => 429,
        ProviderNotLocal or UnsupportedInput or PrivilegeNotAllowed or InvalidValue => 400,
        ModelNotFound or PreviousResponseNotFound or ResponseNotFound => 404,
        UpstreamAuth or UpstreamError or SessionNotFound => 502,
        Timeout => 504,
        Cancelled => 499,
        _ => 500,
    };
}
