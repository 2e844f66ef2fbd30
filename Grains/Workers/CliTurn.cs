using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Workers;

/// <summary>What a CLI process is asked to do for one turn. Node-local: built by the conversation and handed to this node's runners.</summary>
public sealed record CliTurn
{
    public required CliProvider Provider { get; init; }
    public required string Model { get; init; }

    /// <summary>The text written to the CLI's stdin (the new input, or a transcript-seeded prompt for a fresh session).</summary>
    public required string Prompt { get; init; }

    /// <summary>Instructions for this turn only (Codex developer instructions, Claude appended system prompt).</summary>
    public string? Instructions { get; init; }

    /// <summary>The session to resume (Codex thread id / Claude session id), or null to start a new one.</summary>
    public string? ResumeSessionId { get; init; }

    /// <summary>For a new Claude session: the id to create it with (Claude accepts our UUID).</summary>
    public string? NewSessionId { get; init; }

    /// <summary>The conversation's own directory: the CLI's working directory (a Claude session resumes only from where it was made).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>
    /// The conversation has not used <see cref="WorkingDirectory"/> yet: the turn may run in another new directory under the same
    /// root (a pre-started Claude process's), reported with <see cref="TurnEventKind.SessionStarted"/>; the conversation then moves there.
    /// </summary>
    public bool FreshWorkingDirectory { get; init; }

    public string? ReasoningEffort { get; init; }

    /// <summary>The Codex thread's running usage before this turn, so the turn's own usage can be computed.</summary>
    public TokenUsage? SessionUsageBefore { get; init; }

    /// <summary>Run without persisting a session (for <c>store:false</c> turns).</summary>
    public bool Ephemeral { get; init; }

    /// <summary>The turn's deadline, measured from when the process starts.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>The longest silence of the CLI (no event at all) before the turn fails with <c>timeout</c>; null or zero for none.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>Images of this turn's input, already on disk in the conversation's directory or (when allowed) remote URLs.</summary>
    public IReadOnlyList<CliImage> Images { get; init; } = [];

    /// <summary>A JSON schema (JSON text) the answer must follow: Codex <c>outputSchema</c> / <c>--output-schema</c>, Claude <c>--json-schema</c>.</summary>
    public string? OutputSchema { get; init; }

    /// <summary>Codex's sandbox for this turn (<c>read-only</c>, <c>workspace-write</c>, <c>danger-full-access</c>): the server's setting or
    /// the lower one the request asked for.</summary>
    public string? Sandbox { get; init; }

    /// <summary>Whether Codex tool commands may reach the network (only meaningful with <c>workspace-write</c>).</summary>
    public bool NetworkAccess { get; init; }
}

/// <summary>An image given to the CLI with a turn: a file (<see cref="Path"/>, absolute, in the conversation's directory) or a remote
/// <c>https</c> URL (<see cref="Url"/>) that the model provider fetches, never this server.</summary>
public sealed record CliImage(string? Path, string? Url, string MediaType)
{
    public static CliImage File(string path, string mediaType) => new(path, null, mediaType);

    public static CliImage Remote(string url) => new(null, url, "");
}
