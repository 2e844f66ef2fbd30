using System.Text.Json.Serialization;

namespace OrleansCodex.Grains.Conversations;

/// <summary>The conversation grain's persistent state: where its head is and which CLI session continues it.</summary>
public sealed class ConversationState
{
    /// <summary>The newest completed response.</summary>
    public string? HeadResponseId { get; set; }

    /// <summary>The CLI session whose history equals the chain ending at <see cref="CliSessionState.ResponseId"/>, or null.</summary>
    public CliSessionState? Session { get; set; }

    /// <summary>
    /// The name of the conversation's working directory under the work root when it is not the conversation id: the directory of the
    /// pre-started Claude process its first turn ran in (its session lives there). Null for <c>{work root}/{conversation id}</c>.
    /// </summary>
    public string? Directory { get; set; }
}

/// <summary>A CLI session (Codex thread or Claude session) and exactly what it has seen.</summary>
public sealed class CliSessionState
{
    public required CliProvider Provider { get; set; }
    public required string SessionId { get; set; }

    /// <summary>The last response this session answered: it may be resumed only to continue that response.</summary>
    public required string ResponseId { get; set; }

    /// <summary>The machine whose CLI home holds the session files.</summary>
    public required string Host { get; set; }

    /// <summary>
    /// The instructions the session was started with, for providers that keep them for the whole session (Codex bakes
    /// <c>developer_instructions</c> into the thread; Claude takes them per call and leaves this null).
    /// </summary>
    public string? Instructions { get; set; }

    /// <summary>Codex reports a thread's running token total; this is it after <see cref="ResponseId"/>.</summary>
    public TokenUsage? Usage { get; set; }
}

/// <summary>How <see cref="ConversationState"/> is written to grain storage (System.Text.Json, source-generated).</summary>
[JsonSerializable(typeof(ConversationState))]
public sealed partial class ConversationStateJsonContext : JsonSerializerContext;
