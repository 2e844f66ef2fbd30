using System.Diagnostics.CodeAnalysis;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// What Codex's <c>config.toml</c> says about its model provider, read with Tomlyn: the top-level <c>model_provider</c> (default
/// <see cref="OpenAi"/>) and that provider's <c>model_providers.NAME</c> table with its <c>base_url</c>, however they are
/// written (headers, dotted keys, inline tables, any string form). Used by the Codex login check and by <see cref="LocalOnlyPolicy"/>.
/// </summary>
internal static class CodexConfig
{
    /// <summary>Codex's built-in provider, and its default.</summary>
    public const string OpenAi = "openai";

    /// <summary>
    /// Reads <paramref name="path"/> (once); a missing file is Codex's defaults. False, with why, when the file cannot be read,
    /// is not valid TOML, or the keys have the wrong types.
    /// </summary>
    public static bool TryReadModelProvider(string path, [NotNullWhen(true)] out CodexModelProvider? provider, [NotNullWhen(false)] out string? whyNot)
    {
        provider = null;
        string text;
        try
        {
            if (!File.Exists(path))
            {
                provider = new CodexModelProvider(OpenAi, Defined: false, BaseUrl: null);
                whyNot = null;
                return true;
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            whyNot = $"{path} cannot be read: {e.Message}";
            return false;
        }

        // The syntax parser's validation is the strict one (it rejects redefined keys and tables, which the model reader lets
        // the last one win); the model is built once the text has passed it.
        TomlTable root;
        try
        {
            var document = SyntaxParser.Parse(text, path, validate: true);
            if (document.HasErrors)
            {
                var error = document.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
                whyNot = $"{path} is not valid TOML: {error.Message} (line {error.Span.Start.Line + 1}, column {error.Span.Start.Column + 1})";
                return false;
            }

            root = TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            whyNot = $"{path} is not valid TOML: {e.Diagnostics?.FirstOrDefault()?.Message ?? e.Message}";
            return false;
        }

        var name = OpenAi;
        if (root.TryGetValue("model_provider", out var value))
        {
            if (value is not string named)
            {
                whyNot = $"the model_provider of {path} is not a string";
                return false;
            }

            name = named;
        }

        TomlTable? table = null;
        if (root.TryGetValue("model_providers", out var providers))
        {
            if (providers is not TomlTable providerTables)
            {
                whyNot = $"model_providers in {path} is not a table";
                return false;
            }

            if (providerTables.TryGetValue(name, out var entry))
            {
                table = entry as TomlTable;
                if (table is null)
                {
                    whyNot = $"model_providers.{name} in {path} is not a table";
                    return false;
                }
            }
        }

        string? baseUrl = null;
        if (table is not null && table.TryGetValue("base_url", out var url))
        {
            baseUrl = url as string;
            if (baseUrl is null)
            {
                whyNot = $"the base_url of model provider '{name}' in {path} is not a string";
                return false;
            }
        }

        provider = new CodexModelProvider(name, table is not null, baseUrl);
        whyNot = null;
        return true;
    }
}

/// <summary>Codex's model provider as config.toml selects it.</summary>
/// <param name="Name">The top-level <c>model_provider</c>, <see cref="CodexConfig.OpenAi"/> when it is not set.</param>
/// <param name="Defined">Whether config.toml has a <c>model_providers.NAME</c> table for it.</param>
/// <param name="BaseUrl">That table's <c>base_url</c>; null when there is none.</param>
internal sealed record CodexModelProvider(string Name, bool Defined, string? BaseUrl);
