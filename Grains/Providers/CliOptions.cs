namespace OrleansCodex.Grains.Providers;

/// <summary>How Codex turns run (<c>Cli:CodexMode</c>).</summary>
public enum CodexMode
{
    /// <summary>In this node's one warm <c>codex app-server</c> (JSON-RPC over stdio): no process start per turn, token-by-token deltas.</summary>
    AppServer,

    /// <summary>One <c>codex exec --json</c> process per turn (~0.25 s of start-up each), one delta per complete agent message.</summary>
    Exec,
}

/// <summary>How Claude Code turns run (<c>Cli:ClaudeMode</c>).</summary>
public enum ClaudeMode
{
    /// <summary>One persistent <c>claude -p --input-format stream-json</c> process per active conversation: ~60 ms per turn instead of ~0.6 s.</summary>
    Stream,

    /// <summary>One <c>claude -p</c> process per turn.</summary>
    Print,
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

    /// <summary>How Codex turns run: <see cref="CodexMode.AppServer"/> keeps one <c>codex app-server</c> per node (started when the node
    /// starts, see <c>Workers:Prewarm</c>, or by the first Codex turn; shared by all Codex workers; replaced at once after a crash; a
    /// thread resumed in it stays loaded there, so a Codex process stays alive between turns), or <see cref="CodexMode.Exec"/>
    /// starts <c>codex exec</c> for every turn, and no CLI process outlives its turn. Sessions are the same Codex threads either way;
    /// exec mode cannot take remote image URLs.
    /// <value><see cref="CodexMode.AppServer"/> by default: no process start per turn, and token-by-token deltas.</value></summary>
    public CodexMode CodexMode { get; set; } = CodexMode.AppServer;

    /// <summary>How Claude Code turns run: <see cref="ClaudeMode.Stream"/> keeps one process per active conversation (evicted when idle,
    /// see <c>Workers:ProcessIdleTimeout</c>), <see cref="ClaudeMode.Print"/> starts <c>claude -p</c> for every turn.
    /// <value><see cref="ClaudeMode.Stream"/> by default.</value></summary>
    public ClaudeMode ClaudeMode { get; set; } = ClaudeMode.Stream;

    /// <summary>The deadline of a turn (alias <c>CODEX_TIMEOUT</c>, in seconds); a request may ask for a shorter one.
    /// <value>2 minutes by default.</value></summary>
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a turn may go without any event from its CLI (no token, no tool event) before it fails with <c>timeout</c>
    /// and the CLI is interrupted. The CLIs' own idle timeouts do not work reliably. <see cref="TimeSpan.Zero"/> turns it off.
    /// <value>60 seconds by default.</value></summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Claude's own retries of a failed upstream call (<c>CLAUDE_CODE_MAX_RETRIES</c>; Claude's default of 10 takes ~3 minutes).
    /// <value>2 by default. An explicit <c>CLAUDE_CODE_MAX_RETRIES</c> in the environment wins.</value></summary>
    public int ClaudeMaxRetries { get; set; } = 2;

    /// <summary>Codex's sandbox for tool commands (<c>-s</c>): <c>read-only</c>, <c>workspace-write</c> or <c>danger-full-access</c>.
    /// <value><c>read-only</c> by default.</value></summary>
    public string CodexSandboxMode { get; set; } = "read-only";

    /// <summary>Must be true for <see cref="CodexSandboxMode"/> <c>danger-full-access</c>, and for a request's <c>x_codex.sandbox</c>
    /// of <c>danger-full-access</c> (alias <c>CODEX_ALLOW_DANGER_FULL_ACCESS</c>). <value>False by default.</value></summary>
    public bool CodexAllowDangerFullAccess { get; set; }

    /// <summary>Whether Codex tool commands may reach the network in <c>workspace-write</c>
    /// (<c>sandbox_workspace_write.network_access</c>). <value>False by default.</value></summary>
    public bool CodexNetworkAccess { get; set; }

    /// <summary>Codex's reasoning effort when a request names none (alias <c>CODEX_REASONING_EFFORT</c>): <c>none</c>, <c>minimal</c>,
    /// <c>low</c>, <c>medium</c>, <c>high</c> or <c>xhigh</c>. <value>Null by default: the model's own default.</value></summary>
    public string? CodexReasoningEffort { get; set; }

    /// <summary>Whether a request's <c>x_codex</c> may ask for more than this server's settings (a wider sandbox, network access).
    /// Without it such a request is a 400; lowering privileges is always allowed. <value>False by default.</value></summary>
    public bool AllowRaisingPrivileges { get; set; }

    /// <summary>Only let the CLIs talk to model servers on this machine (alias <c>CODEX_LOCAL_ONLY</c>): a turn is refused with 400
    /// when Codex's model provider (<c>$CODEX_HOME/config.toml</c>, <c>OPENAI_BASE_URL</c>) or Claude's <c>ANTHROPIC_BASE_URL</c> is not a
    /// loopback address or unix socket, or cannot be told. <value>False by default.</value></summary>
    public bool LocalOnly { get; set; }

    /// <summary>Claude Code's permission mode (<c>--permission-mode</c>): <c>default</c>, <c>acceptEdits</c>, <c>dontAsk</c>, <c>plan</c>
    /// or <c>bypassPermissions</c> (which also needs <see cref="ClaudeAllowBypassPermissions"/>). Set only here, never by a request.
    /// <value><c>default</c>: read-only tool use runs, edits and other writes are denied.</value></summary>
    public string ClaudePermissionMode { get; set; } = "default";

    /// <summary>Must be true for <see cref="ClaudePermissionMode"/> <c>bypassPermissions</c>. <value>False by default.</value></summary>
    public bool ClaudeAllowBypassPermissions { get; set; }

    /// <summary>The tools Claude Code has at all (<c>--tools</c>, e.g. <c>Bash,Read</c>; empty for none).
    /// <value>Null by default: Claude Code's own set.</value></summary>
    public string? ClaudeTools { get; set; }

    /// <summary>Tools Claude Code may use without asking (<c>--allowedTools</c>, e.g. <c>Read</c>, <c>Bash(git diff:*)</c>).
    /// <value>None by default.</value></summary>
    public string[] ClaudeAllowedTools { get; set; } = [];

    /// <summary>Variables added to (or, with an empty value, removed from) the environment of every CLI process, e.g. <c>CODEX_HOME</c>,
    /// <c>CLAUDE_CONFIG_DIR</c>, <c>ANTHROPIC_BASE_URL</c>. <value>Empty by default: the CLIs see the server's environment.</value></summary>
    public Dictionary<string, string> ExtraEnvironment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The limit for one availability probe (<c>--version</c>, <c>login status</c>); a probe that runs longer is killed.
    /// <value>15 seconds by default.</value></summary>
    public TimeSpan StatusCheckTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often provider availability is re-checked; an older status is refreshed when asked for.
    /// <value>1 minute by default.</value></summary>
    public TimeSpan StatusRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Codex sandbox modes, least privilege first.</summary>
    public static readonly IReadOnlyList<string> SandboxModes = ["read-only", "workspace-write", "danger-full-access"];

    /// <summary>Reasoning efforts the CLIs accept.</summary>
    public static readonly IReadOnlyList<string> ReasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh"];

    /// <summary>Claude Code permission modes.</summary>
    public static readonly IReadOnlyList<string> ClaudePermissionModes = ["default", "acceptEdits", "dontAsk", "plan", "bypassPermissions"];
}
