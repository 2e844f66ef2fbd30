namespace OrleansCodex.Grains.Conversations;

/// <summary>The coding-agent CLIs we drive.</summary>
public enum CliProvider { Codex, Claude }

/// <summary>Model names: what is accepted, and which CLI serves it.</summary>
public static class ModelRouting
{
    public const int MaxModelLength = 128;

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

    /// <summary><c>claude-*</c>, <c>opus</c>, <c>sonnet</c> and <c>haiku</c> go to Claude Code; everything else to Codex.</summary>
    public static CliProvider ProviderFor(string model) =>
        model.StartsWith("claude-", StringComparison.OrdinalIgnoreCase)
        || model.Equals("opus", StringComparison.OrdinalIgnoreCase)
        || model.Equals("sonnet", StringComparison.OrdinalIgnoreCase)
        || model.Equals("haiku", StringComparison.OrdinalIgnoreCase)
            ? CliProvider.Claude
            : CliProvider.Codex;
}
