using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansCodex.Api.ChatCompletions;

/// <summary>The body of <c>POST /v1/chat/completions</c>: the fields we use; every other documented field is accepted and ignored.</summary>
public sealed class ChatCompletionRequest
{
    public string? Model { get; set; }
    public JsonElement Messages { get; set; }
    public bool? Stream { get; set; }
    public StreamOptions? StreamOptions { get; set; }
    public int? N { get; set; }
    public string? ReasoningEffort { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }

    /// <summary>Free text, <c>json_object</c> or <c>json_schema</c>.</summary>
    public JsonElement ResponseFormat { get; set; }

    /// <summary>Our extension: <c>sandbox</c>, <c>network_access</c>, <c>reasoning_effort</c>, <c>timeout</c> (see <c>TurnPolicy</c>).</summary>
    public JsonElement XCodex { get; set; }
}

public sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }
}

/// <summary>A non-streamed chat completion.</summary>
public sealed record ChatCompletion(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, ChatUsage Usage)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "chat.completion";
    public string? SystemFingerprint { get; init; }
}

public sealed record ChatChoice(int Index, ChatMessage Message, string FinishReason)
{
    public string? Logprobs { get; init; }
}

public sealed record ChatMessage(string Content)
{
    public string Role { get; init; } = "assistant";
    public string? Refusal { get; init; }
}

public sealed record ChatUsage(long PromptTokens, long CompletionTokens, long TotalTokens, PromptTokensDetails PromptTokensDetails, CompletionTokensDetails CompletionTokensDetails);

public sealed record PromptTokensDetails(long CachedTokens);

public sealed record CompletionTokensDetails(long ReasoningTokens);

/// <summary>A streamed chunk without a <c>usage</c> key (the client did not ask for usage).</summary>
public record ChatCompletionChunk(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "chat.completion.chunk";
    public string? SystemFingerprint { get; init; }
}

/// <summary>A streamed chunk when <c>stream_options.include_usage</c> is on: <c>usage</c> is null except in the final usage chunk.</summary>
public sealed record ChatCompletionUsageChunk(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices, ChatUsage? Usage)
    : ChatCompletionChunk(Id, Created, Model, Choices);

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason)
{
    public string? Logprobs { get; init; }
}

/// <summary>A delta; absent fields are omitted, so the final chunk's delta is <c>{}</c>.</summary>
public sealed record ChatDelta
{
    public static readonly ChatDelta Empty = new();

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }
}
