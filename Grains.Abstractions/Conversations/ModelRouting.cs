namespace OrleansCodex.Grains.Conversations;

/// <summary>The coding-agent CLIs we drive.</summary>
public enum CliProvider { Codex, Claude }

/// <summary>Model names: what is accepted, and which CLI serves it.</summary>
public static class ModelRouting
{
    public const int MaxModelLength = 128;

    /// <summary>
    /// The <c>RequestContext</c> key callers set to the turn's provider (<see cref="ProviderName"/>) before calling a conversation, so
    /// that a new conversation is placed on a silo serving that provider.
    /// </summary>
    public const string ProviderRequestContextKey = "provider";

    /// <summary>The silo metadata key listing the providers a silo serves, e.g. <c>codex,claude</c> (setting <c>Cluster:Providers</c>).</summary>
    public const string ProvidersMetadataKey = "providers";

    /// <summary>The provider's lower-case name as used in settings and metadata: <c>codex</c>, <c>claude</c>.</summary>
    public static string ProviderName(CliProvider provider) => provider == CliProvider.Claude ? "claude" : "codex";

    /// <summary>The provider a lower-case name (<see cref="ProviderName"/>) stands for.</summary>
    public static bool TryParseProvider(string? name, out CliProvider provider)
    {
        provider = name switch { "claude" => CliProvider.Claude, _ => CliProvider.Codex };
        return name is "claude" or "codex";
    }

    /// <summary>
    /// Letters, digits and <c>._:-[]</c>, first character a letter or digit, at most 128 characters. Checked before any process starts:
    /// the model name reaches a command line.
    /// </summary>
    public static bool IsValidModelName(string? model)
    {
        if (string.IsNullOrEmpty(model) || model.Length > MaxModelLength || !char.IsAsciiLetterOrDigit(model[0]))
        {
            return false;
        }

        foreach (var c in model)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or ':' or '-' or '[' or ']'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>claude-*</c> and Claude Code's aliases <c>opus</c>, <c>sonnet</c>, <c>haiku</c> (also with a context suffix such as
    /// <c>opus[1m]</c>) go to Claude Code; everything else to Codex.
    /// </summary>
    public static CliProvider ProviderFor(string model)
    {
        if (model.StartsWith("claude-", StringComparison.OrdinalIgnoreCase))
        {
            return CliProvider.Claude;
        }

        var alias = model.IndexOf('[') is > 0 and var bracket ? model[..bracket] : model;
        return alias.Equals("opus", StringComparison.OrdinalIgnoreCase)
            || alias.Equals("sonnet", StringComparison.OrdinalIgnoreCase)
            || alias.Equals("haiku", StringComparison.OrdinalIgnoreCase)
                ? CliProvider.Claude
                : CliProvider.Codex;
    }
}
