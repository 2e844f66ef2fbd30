namespace OrleansCodex.Grains.Conversations;

public enum TurnEventKind
{
    /// <summary>A CLI session (Codex thread / Claude session) is known; <see cref="TurnEvent.SessionId"/> is set.</summary>
    SessionStarted,

    /// <summary>More answer text; <see cref="TurnEvent.Text"/> is the new fragment.</summary>
    TextDelta,

    /// <summary>Terminal: the turn ended; <see cref="TurnEvent.Text"/> is the whole answer, <see cref="TurnEvent.Usage"/> the turn's tokens.</summary>
    Completed,

    /// <summary>Terminal: the turn failed; <see cref="TurnEvent.Error"/> says why.</summary>
    Failed,
}

/// <summary>What a running turn reports. Providers, workers and conversations all stream these.</summary>
public sealed record TurnEvent
{
    public required TurnEventKind Kind { get; init; }
    public string? Text { get; init; }
    public string? SessionId { get; init; }

    /// <summary>
    /// With <see cref="TurnEventKind.SessionStarted"/>: the directory the session lives in, when the runner chose it (a pre-started
    /// Claude process's, for a turn with <see cref="Workers.CliTurn.FreshWorkingDirectory"/>); the session resumes only from there.
    /// </summary>
    public string? WorkingDirectory { get; init; }
    public TokenUsage? Usage { get; init; }

    /// <summary>For Codex: the thread's running total after this turn (Codex reports totals; a turn's usage is the difference).</summary>
    public TokenUsage? SessionUsage { get; init; }

    public TurnError? Error { get; init; }

    public static TurnEvent Session(string sessionId) => new() { Kind = TurnEventKind.SessionStarted, SessionId = sessionId };
    public static TurnEvent Delta(string text) => new() { Kind = TurnEventKind.TextDelta, Text = text };
    public static TurnEvent Done(string text, TokenUsage usage, TokenUsage? sessionUsage = null) =>
        new() { Kind = TurnEventKind.Completed, Text = text, Usage = usage, SessionUsage = sessionUsage };
    public static TurnEvent Fail(TurnError error) => new() { Kind = TurnEventKind.Failed, Error = error };

    public bool IsTerminal => Kind is TurnEventKind.Completed or TurnEventKind.Failed;
}

/// <summary>Token counts as the CLI reported them (never estimated).</summary>
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
public sealed record TurnError(string Code, string Message);

/// <summary>The error codes a turn can fail with; <see cref="HttpStatus"/> says how each surfaces over HTTP.</summary>
public static class TurnErrorCodes
{
    /// <summary>The CLI is not installed or not logged in (503).</summary>
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

    /// <summary>The caller went away (499, never seen by that caller).</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The previous response is unknown to the conversation (404).</summary>
    public const string PreviousResponseNotFound = "previous_response_not_found";

    /// <summary>All workers are busy and no more turns may wait for one (429, with <c>Retry-After</c>).</summary>
    public const string QueueFull = "queue_full";

    /// <summary>All workers stayed busy for the whole queue timeout (503, with <c>Retry-After</c>).</summary>
    public const string Overloaded = "overloaded";

    /// <summary>The server only allows model servers on this machine (<c>Cli:LocalOnly</c>) and the CLI's provider is not one (400).</summary>
    public const string ProviderNotLocal = "provider_not_local";

    /// <summary>The turn asks for something this node's CLI mode cannot take (e.g. a remote image URL for <c>codex exec</c>) (400).</summary>
    public const string UnsupportedInput = "unsupported_input";

    /// <summary>The CLI session to resume no longer exists on this node (its files are gone); the conversation starts a fresh one.</summary>
    public const string SessionNotFound = "session_not_found";

    /// <summary>The node holding the conversation stopped or became unreachable mid-call (503); the turn may not have finished.</summary>
    public const string NodeUnavailable = "node_unavailable";

    /// <summary>A bug or storage failure on our side (500).</summary>
    public const string ServerError = "server_error";

    public static int HttpStatus(string code) => code switch
    {
        ProviderUnavailable or Overloaded or NodeUnavailable => 503,
        UpstreamRateLimited or QueueFull => 429,
        ProviderNotLocal or UnsupportedInput => 400,
        ModelNotFound or PreviousResponseNotFound => 404,
        UpstreamAuth or UpstreamError or SessionNotFound => 502,
        Timeout => 504,
        Cancelled => 499,
        _ => 500,
    };
}
