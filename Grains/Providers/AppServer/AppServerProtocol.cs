using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers.AppServer;

// The subset of `codex app-server`'s JSON-RPC protocol (Codex 0.169, `codex app-server generate-json-schema`) that a turn needs.
// One JSON object per line; the server omits "jsonrpc" and accepts messages without it, so neither side sends it.

/// <summary>
/// One line from the app-server: a response (<see cref="Id"/> with <see cref="Result"/> or <see cref="Error"/>), a notification
/// (<see cref="Method"/> without an id) or a request of the server (<see cref="Method"/> with an id).
/// </summary>
internal sealed record RpcMessage
{
    public JsonElement? Id { get; init; }
    public string? Method { get; init; }
    public JsonElement? Params { get; init; }
    public JsonElement? Result { get; init; }
    public RpcError? Error { get; init; }
}

/// <summary>A JSON-RPC error: <c>-32600</c> carries Codex's own failures ("no rollout found for thread id …").</summary>
internal sealed record RpcError
{
    public int Code { get; init; }
    public string Message { get; init; } = "";
}

/// <summary>A notification as handed to the turn that subscribed to its thread.</summary>
internal readonly record struct AppServerNotification(string Method, JsonElement Params)
{
    /// <summary>Not a protocol method: posted to every subscription when the process is gone.</summary>
    public const string ExitedMethod = "$exited";

    public static readonly AppServerNotification Exited = new(ExitedMethod, default);
}

internal static class AppServerMethods
{
    public const string Initialize = "initialize";
    public const string Initialized = "initialized";
    public const string ThreadStart = "thread/start";
    public const string ThreadResume = "thread/resume";
    public const string TurnStart = "turn/start";
    public const string TurnInterrupt = "turn/interrupt";
    public const string AgentMessageDelta = "item/agentMessage/delta";
    public const string ItemCompleted = "item/completed";
    public const string TokenUsageUpdated = "thread/tokenUsage/updated";
    public const string Error = "error";
    public const string TurnCompleted = "turn/completed";
}

internal sealed record InitializeParams(ClientInfo ClientInfo, InitializeCapabilities Capabilities);

internal sealed record ClientInfo(string Name, string Title, string Version);

internal sealed record InitializeCapabilities(bool ExperimentalApi);

/// <summary><c>thread/start</c>: a new thread; <see cref="Ephemeral"/> threads write no rollout and cannot be resumed.</summary>
internal sealed record ThreadStartParams
{
    public required string Model { get; init; }
    public required string Cwd { get; init; }
    public required string Sandbox { get; init; }
    public string ApprovalPolicy { get; init; } = "never";
    public string? DeveloperInstructions { get; init; }
    public bool Ephemeral { get; init; }
}

/// <summary><c>thread/resume</c>: loads a thread from its rollout file into this process (its writer from then on).</summary>
internal sealed record ThreadResumeParams
{
    public required string ThreadId { get; init; }
    public required string Model { get; init; }
    public required string Cwd { get; init; }
    public required string Sandbox { get; init; }
    public string ApprovalPolicy { get; init; } = "never";

    /// <summary>Do not send the thread's history back: only the thread's metadata is needed.</summary>
    public bool ExcludeTurns { get; init; } = true;
}

/// <summary>
/// <c>turn/start</c>. <see cref="Model"/>, <see cref="Effort"/> and <see cref="SandboxPolicy"/> also apply to the thread's later
/// turns; <see cref="OutputSchema"/> (a JSON schema object) to this turn only.
/// </summary>
internal sealed record TurnStartParams
{
    public required string ThreadId { get; init; }
    public required IReadOnlyList<UserInput> Input { get; init; }
    public required string Model { get; init; }
    public string? Effort { get; init; }
    public required SandboxPolicy SandboxPolicy { get; init; }
    public JsonElement? OutputSchema { get; init; }
}

/// <summary>
/// One item of a turn's input: <c>text</c>, or <c>localImage</c> (a file Codex reads and sends as a data URL). The <c>image</c> kind
/// is not used: Codex 0.169 refuses remote URLs in it, and a data URL in JSON-RPC would only copy what the file already holds.
/// </summary>
internal sealed record UserInput
{
    public required string Type { get; init; }
    public string? Text { get; init; }
    public string? Path { get; init; }

    public static UserInput ForText(string text) => new() { Type = "text", Text = text };

    public static UserInput ForLocalImage(string path) => new() { Type = "localImage", Path = path };
}

/// <summary>
/// <c>turn/start</c>'s <c>sandboxPolicy</c>: <c>{"type":"readOnly"}</c>, <c>{"type":"workspaceWrite","networkAccess":…}</c> or
/// <c>{"type":"dangerFullAccess"}</c> (the tagged union of the generated schema; thread/start takes the sandbox mode's name instead).
/// </summary>
internal sealed record SandboxPolicy(string Type, bool? NetworkAccess = null)
{
    /// <summary>The policy of a sandbox mode of <see cref="CliOptions.SandboxModes"/>; network access only means something in workspace-write.</summary>
    public static SandboxPolicy For(string sandbox, bool networkAccess) => sandbox switch
    {
        "danger-full-access" => new("dangerFullAccess"),
        "workspace-write" => new("workspaceWrite", networkAccess),
        _ => new("readOnly"),
    };
}

internal sealed record TurnInterruptParams(string ThreadId, string TurnId);

/// <summary>The answer to a server request for approval (only sent if Codex asks despite <c>approvalPolicy: never</c>).</summary>
internal sealed record ApprovalDecision(string Decision);

/// <summary>The result of <c>thread/start</c> and <c>thread/resume</c>.</summary>
internal sealed record ThreadResult
{
    public required ThreadInfo Thread { get; init; }
}

internal sealed record ThreadInfo
{
    public required string Id { get; init; }

    /// <summary>The rollout file; null for an ephemeral thread.</summary>
    public string? Path { get; init; }

    public bool Ephemeral { get; init; }
}

/// <summary>The result of <c>turn/start</c>.</summary>
internal sealed record TurnResult
{
    public required TurnInfo Turn { get; init; }
}

internal sealed record TurnInfo
{
    public required string Id { get; init; }

    /// <summary><c>completed</c>, <c>interrupted</c>, <c>failed</c> or <c>inProgress</c>.</summary>
    public string Status { get; init; } = "";

    public TurnErrorInfo? Error { get; init; }
}

/// <summary>A turn's error. <see cref="CodexErrorInfo"/> is a string (<c>"modelNotFound"</c>) or an object carrying the upstream's
/// <c>httpStatusCode</c> (<c>{"httpConnectionFailed":{"httpStatusCode":401}}</c>).</summary>
internal sealed record TurnErrorInfo
{
    public string Message { get; init; } = "";
    public JsonElement? CodexErrorInfo { get; init; }
    public string? AdditionalDetails { get; init; }
}

internal sealed record AgentMessageDeltaParams
{
    public required string TurnId { get; init; }
    public required string ItemId { get; init; }
    public required string Delta { get; init; }
}

internal sealed record ItemCompletedParams
{
    public required string TurnId { get; init; }
    public required JsonElement Item { get; init; }
}

internal sealed record TokenUsageUpdatedParams
{
    public required string TurnId { get; init; }
    public required ThreadTokenUsage TokenUsage { get; init; }
}

/// <summary><see cref="Total"/> is the thread's running total; <see cref="Last"/> the latest model call.</summary>
internal sealed record ThreadTokenUsage(TokenUsageBreakdown Total, TokenUsageBreakdown Last);

internal sealed record TokenUsageBreakdown(long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningOutputTokens)
{
    public TokenUsage ToTokenUsage() => new(InputTokens, CachedInputTokens, OutputTokens, ReasoningOutputTokens);
}

/// <summary>The <c>error</c> notification: <see cref="WillRetry"/> true means Codex is retrying and the turn goes on.</summary>
internal sealed record ErrorNotificationParams
{
    public required TurnErrorInfo Error { get; init; }
    public bool WillRetry { get; init; }
    public string? TurnId { get; init; }
}

internal sealed record TurnCompletedParams
{
    public required TurnInfo Turn { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RpcMessage))]
[JsonSerializable(typeof(InitializeParams))]
[JsonSerializable(typeof(ThreadStartParams))]
[JsonSerializable(typeof(ThreadResumeParams))]
[JsonSerializable(typeof(TurnStartParams))]
[JsonSerializable(typeof(TurnInterruptParams))]
[JsonSerializable(typeof(ApprovalDecision))]
[JsonSerializable(typeof(RpcError))]
[JsonSerializable(typeof(ThreadResult))]
[JsonSerializable(typeof(TurnResult))]
[JsonSerializable(typeof(AgentMessageDeltaParams))]
[JsonSerializable(typeof(ItemCompletedParams))]
[JsonSerializable(typeof(TokenUsageUpdatedParams))]
[JsonSerializable(typeof(ErrorNotificationParams))]
[JsonSerializable(typeof(TurnCompletedParams))]
internal sealed partial class AppServerJsonContext : JsonSerializerContext;
