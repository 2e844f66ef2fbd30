using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// What a Claude Code process is started with besides its session and model: the turn's instructions, effort and output schema,
/// and the server's permission settings. They cannot change inside a running process, so a turn that needs other settings needs
/// another process (see <c>ClaudeStreamRunner</c>). <see cref="AllowedTools"/> is the entries joined by newlines, so that records
/// compare by value.
/// </summary>
internal sealed record ClaudeProcessSettings(
    string WorkingDirectory,
    string? Instructions,
    string? ReasoningEffort,
    string? OutputSchema,
    bool Ephemeral,
    string PermissionMode,
    string? Tools,
    string AllowedTools)
{
    public static ClaudeProcessSettings For(CliTurn turn, CliOptions options) => new(
        turn.WorkingDirectory, turn.Instructions, turn.ReasoningEffort, turn.OutputSchema, turn.Ephemeral,
        options.ClaudePermissionMode, options.ClaudeTools, string.Join('\n', options.ClaudeAllowedTools));
}

/// <summary>Claude Code's command line, shared by the per-turn and the persistent runner.</summary>
internal static class ClaudeArguments
{
    /// <summary>
    /// <c>claude -p</c> reading stream-json user messages from stdin (so that images can be sent) and writing stream-json events with
    /// token deltas. Values are attached with <c>=</c> (<c>--model=M</c>) so that a value starting with a dash (instructions) is never
    /// read as a flag. With both a session to resume and a new id, the resumed session is forked into the new one (<c>--fork-session</c>).
    /// An empty <see cref="ClaudeProcessSettings.Tools"/> is passed as <c>--tools=</c>: no tools at all. Without a
    /// <paramref name="model"/> (a spare process, see <c>ClaudeSpares</c>) Claude starts with its default one.
    /// </summary>
    public static IReadOnlyList<string> Build(string? model, string? resumeSessionId, string? newSessionId, ClaudeProcessSettings settings)
    {
        var arguments = new List<string>
        {
            "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
        };
        if (model is not null)
        {
            arguments.Add($"--model={model}");
        }

        if (resumeSessionId is not null)
        {
            arguments.Add($"--resume={resumeSessionId}");
            if (newSessionId is not null)
            {
                arguments.AddRange(["--fork-session", $"--session-id={newSessionId}"]);
            }
        }
        else if (newSessionId is not null)
        {
            arguments.Add($"--session-id={newSessionId}");
        }

        if (settings.Instructions is not null)
        {
            arguments.Add($"--append-system-prompt={settings.Instructions}");
        }

        if (settings.ReasoningEffort is not null)
        {
            arguments.Add($"--effort={settings.ReasoningEffort}");
        }

        if (settings.OutputSchema is not null)
        {
            arguments.Add($"--json-schema={settings.OutputSchema}");
        }

        arguments.Add($"--permission-mode={settings.PermissionMode}");
        if (settings.Tools is not null)
        {
            arguments.Add($"--tools={settings.Tools}");
        }

        foreach (var tool in settings.AllowedTools.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            arguments.Add($"--allowedTools={tool}");
        }

        if (settings.Ephemeral)
        {
            arguments.Add("--no-session-persistence");
        }

        return arguments;
    }
}
