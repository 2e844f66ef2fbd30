namespace OrleansCodex.Api.Options;

/// <summary>The models served and listed by <c>/v1/models</c> (section <c>Models</c>); by default each CLI's own catalog.</summary>
public sealed class ModelsOptions
{
    public const string SectionName = "Models";

    public static readonly IReadOnlyList<string> DefaultCodexModels =
        ["gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-6-sol", "gpt-6-astra", "gpt-6-luna", "gpt-6.1-sol", "gpt-6.1-terra"];

    public static readonly IReadOnlyList<string> DefaultClaudeModels =
        ["opus", "sonnet", "haiku", "claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"];

    /// <summary>Models served for Codex; setting it replaces Codex's own catalog (<c>codex debug models --bundled</c>).</summary>
    /// <value>Unset: Codex's catalog, or <see cref="DefaultCodexModels"/> where Codex cannot be asked (a front end without CLIs).</value>
    public string[]? Codex { get; set; }

    /// <summary>Models served for Claude Code; setting it replaces Claude Code's own list of models and aliases.</summary>
    /// <value>Unset: Claude Code's list, or <see cref="DefaultClaudeModels"/> where it cannot be asked.</value>
    public string[]? Claude { get; set; }

    /// <summary>Whether a model outside the catalog is passed to its CLI anyway (for custom providers in Codex's config.toml, e.g. a
    /// local model server). Otherwise such a request is a 404 <c>model_not_found</c> before any process starts.</summary>
    /// <value>False by default.</value>
    public bool AllowUnlisted { get; set; }

    /// <summary>More models to list; each is routed by its name (see <c>ModelRouting</c>).</summary>
    /// <value>None by default.</value>
    public string[] Extra { get; set; } = [];

    /// <summary>The <c>created</c> timestamp (Unix seconds) reported for every model.</summary>
    /// <value>1767225600 (2026-01-01) by default.</value>
    public long Created { get; set; } = 1767225600;

    public IReadOnlyList<string> EffectiveCodex => Codex ?? DefaultCodexModels;

    public IReadOnlyList<string> EffectiveClaude => Claude ?? DefaultClaudeModels;
}
