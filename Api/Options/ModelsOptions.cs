namespace OrleansCodex.Api.Options;

/// <summary>The model catalog served by <c>/v1/models</c> (section <c>Models</c>).</summary>
public sealed class ModelsOptions
{
    public const string SectionName = "Models";

    public static readonly IReadOnlyList<string> DefaultCodexModels =
        ["gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-6-sol", "gpt-6-astra", "gpt-6-luna", "gpt-6.1-sol", "gpt-6.1-terra"];

    public static readonly IReadOnlyList<string> DefaultClaudeModels =
        ["opus", "sonnet", "haiku", "claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"];

    /// <summary>Models listed for Codex; setting it replaces the default list.</summary>
    /// <value><see cref="DefaultCodexModels"/> when unset.</value>
    public string[]? Codex { get; set; }

    /// <summary>Models listed for Claude Code; setting it replaces the default list.</summary>
    /// <value><see cref="DefaultClaudeModels"/> when unset.</value>
    public string[]? Claude { get; set; }

    /// <summary>More models to list; each is routed by its name (see <c>ModelRouting</c>).</summary>
    /// <value>None by default.</value>
    public string[] Extra { get; set; } = [];

    /// <summary>The <c>created</c> timestamp (Unix seconds) reported for every model.</summary>
    /// <value>1767225600 (2026-01-01) by default.</value>
    public long Created { get; set; } = 1767225600;

    public IReadOnlyList<string> EffectiveCodex => Codex ?? DefaultCodexModels;

    public IReadOnlyList<string> EffectiveClaude => Claude ?? DefaultClaudeModels;
}
