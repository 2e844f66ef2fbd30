using System.Text.Json;

namespace OrleansCodex.Testing.StubModel;

/// <summary>Which wire API a request used.</summary>
public enum StubApi
{
    /// <summary>OpenAI Responses (<c>POST /v1/responses</c>), spoken by Codex.</summary>
    Responses,

    /// <summary>Anthropic Messages (<c>POST /v1/messages</c>), spoken by Claude Code.</summary>
    Messages,
}

/// <summary>One request the stub received, recorded for assertions.</summary>
/// <param name="Headers">Lower-case names of the headers of interest (auth, session ids, user agent, anthropic-beta).</param>
/// <param name="Body">The parsed request body (a clone, safe to keep).</param>
/// <param name="Answer">What the stub answered (for magic failure models: the error it returned).</param>
public sealed record StubRequest(
    StubApi Api,
    string Path,
    string Query,
    string? Model,
    bool Stream,
    IReadOnlyDictionary<string, string> Headers,
    JsonElement Body,
    StubConversation Conversation,
    string Answer,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The image blocks of an Anthropic Messages request (Claude Code); empty for other APIs.</summary>
    public IReadOnlyList<StubImageBlock> MessagesImages => Api == StubApi.Messages ? StubImageBlock.FromMessagesRequest(Body) : [];

    /// <summary>The credential the client presented: the bearer token (Codex) or <c>x-api-key</c> (Claude).</summary>
    public string? PresentedKey =>
        Headers.TryGetValue("x-api-key", out var key) ? key
        : Headers.TryGetValue("authorization", out var auth) && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..]
        : null;
}
