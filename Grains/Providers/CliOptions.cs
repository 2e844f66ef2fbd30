namespace OrleansCodex.Grains.Providers;

/// <summary>How Codex turns run (<c>Cli:CodexMode</c>).</summary>
public enum CodexMode
{
    /// <summary>In this node's one warm <c>codex app-server</c> (JSON-RPC over stdio): no process start per turn, token-by-token deltas.</summary>
    AppServer,

    /// <summary>One <c>codex exec --json</c> process per turn (~0.25 s of start-up each), one delta per complete agent message.</summary>
    Exec,
}

/// <summary>How this node runs the Codex and Claude Code CLIs. Bound from the <c>Cli</c> section.</summary>
public sealed class CliOptions
{
    public const string SectionName = "Cli";

    /// <summary>The Codex executable. <value>By default the native binary under <c>tools/node_modules</c> above the working or
    /// application directory, else <c>codex</c> on PATH. A path to the npm launcher (<c>@openai/codex/bin/codex.js</c>,
    /// <c>node_modules/.bin/codex</c>) is resolved to the native binary next to it: killing the launcher would orphan the real process.</value></summary>
    public string? CodexPath { get; set; }

    /// <summary>The Claude Code executable. <value>By default <c>@anthropic-ai/claude-code/bin/claude.exe</c> under <c>tools/node_modules</c>
    /// above the working or application directory, else <c>claude</c> on PATH.</value></summary>
    public string? ClaudePath { get; set; }

    /// <summary>How Codex turns run: <see cref="CodexMode.AppServer"/> keeps one <c>codex app-server</c> per node (started by the first
    /// Codex turn, shared by all Codex workers, restarted after a crash; a thread resumed in it stays loaded there, so a Codex
    /// process stays alive between turns), or <see cref="CodexMode.Exec"/> starts <c>codex exec</c> for every turn, and no CLI
    /// process outlives its turn. Sessions are the same Codex threads either way.
    /// <value><see cref="CodexMode.Exec"/> by default, until the end-to-end tests that expect no CLI process after a cancelled
    /// turn know about the warm app-server.</value></summary>
    public CodexMode CodexMode { get; set; } = CodexMode.Exec;

    /// <summary>The deadline of a turn whose caller gives none. <value>2 minutes by default.</value></summary>
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Claude's own retries of a failed upstream call (<c>CLAUDE_CODE_MAX_RETRIES</c>; Claude's default of 10 takes ~3 minutes).
    /// <value>2 by default. An explicit <c>CLAUDE_CODE_MAX_RETRIES</c> in the environment wins.</value></summary>
    public int ClaudeMaxRetries { get; set; } = 2;

    /// <summary>Codex's sandbox for tool commands (<c>-s</c>): <c>read-only</c>, <c>workspace-write</c> or <c>danger-full-access</c>.
    /// <value><c>read-only</c> by default.</value></summary>
    public string CodexSandboxMode { get; set; } = "read-only";

    /// <summary>Must be true for <see cref="CodexSandboxMode"/> <c>danger-full-access</c>. <value>False by default.</value></summary>
    public bool CodexAllowDangerFullAccess { get; set; }

    /// <summary>Variables added to (or, with an empty value, removed from) the environment of every CLI process, e.g. <c>CODEX_HOME</c>,
    /// <c>CLAUDE_CONFIG_DIR</c>, <c>ANTHROPIC_BASE_URL</c>. <value>Empty by default: the CLIs see the server's environment.</value></summary>
    public Dictionary<string, string> ExtraEnvironment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The limit for one availability probe (<c>--version</c>, <c>login status</c>); a probe that runs longer is killed.
    /// <value>15 seconds by default.</value></summary>
    public TimeSpan StatusCheckTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often provider availability is re-checked; an older status is refreshed when asked for.
    /// <value>1 minute by default.</value></summary>
    public TimeSpan StatusRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    internal static readonly string[] SandboxModes = ["read-only", "workspace-write", "danger-full-access"];
}
