using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// The checks every runner makes before it touches a process: what must never reach a command line or a CLI's input, or cannot
/// work, is refused with <see cref="ArgumentException"/>. The front end and the conversation grain already keep such turns out, so
/// a failure here is a bug of the caller, and it is loud. One place for all runners, so the Codex modes refuse the same turns.
/// </summary>
internal static partial class CliTurnValidation
{
    /// <summary>Linux limits one argument to 128 KiB (MAX_ARG_STRLEN); instructions travel as one in the per-turn runners.</summary>
    public const int MaxArgumentBytes = 120 * 1024;

    public static void Validate(CliTurn turn, CliProvider provider)
    {
        ArgumentNullException.ThrowIfNull(turn);
        if (turn.Provider != provider)
        {
            throw new ArgumentException($"A {turn.Provider} turn was given to the {provider} runner.", nameof(turn));
        }

        if (!ModelRouting.IsValidModelName(turn.Model))
        {
            throw new ArgumentException($"Invalid model name '{turn.Model}': letters, digits and ._:-[] only, starting with a letter or digit, at most {ModelRouting.MaxModelLength} characters.", nameof(turn));
        }

        if (string.IsNullOrWhiteSpace(turn.Prompt))
        {
            throw new ArgumentException("The prompt is empty; both CLIs refuse an empty prompt.", nameof(turn));
        }

        if (!Path.IsPathFullyQualified(turn.WorkingDirectory))
        {
            throw new ArgumentException($"The working directory must be an absolute path (got '{turn.WorkingDirectory}').", nameof(turn));
        }

        if (turn.ResumeSessionId is not null && !Guid.TryParseExact(turn.ResumeSessionId, "D", out _))
        {
            // Codex silently starts a NEW thread for an unknown non-UUID name, so anything but a UUID is refused.
            throw new ArgumentException($"The session to resume must be a UUID (got '{turn.ResumeSessionId}').", nameof(turn));
        }

        if (turn.NewSessionId is not null && !Guid.TryParseExact(turn.NewSessionId, "D", out _))
        {
            throw new ArgumentException($"The new session id must be a UUID (got '{turn.NewSessionId}').", nameof(turn));
        }

        if (turn.ReasoningEffort is not null && !EffortPattern().IsMatch(turn.ReasoningEffort))
        {
            throw new ArgumentException($"Invalid reasoning effort '{turn.ReasoningEffort}': a word of letters, digits, '-' or '_'.", nameof(turn));
        }

        if (turn.Instructions is not null && (turn.Instructions.Contains('\0') || Encoding.UTF8.GetByteCount(turn.Instructions) > MaxArgumentBytes))
        {
            // The app-server has no argv limit, but the same instructions must work in every mode.
            throw new ArgumentException($"The instructions must not contain NUL and must be at most {MaxArgumentBytes} bytes: they are passed as one command-line argument.", nameof(turn));
        }

        if (turn.Sandbox is not null && !CliOptions.SandboxModes.Contains(turn.Sandbox, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Invalid sandbox '{turn.Sandbox}': {string.Join(", ", CliOptions.SandboxModes)}.", nameof(turn));
        }

        if (turn.OutputSchema is not null && !IsJsonObject(turn.OutputSchema))
        {
            throw new ArgumentException("The output schema must be a JSON object.", nameof(turn));
        }

        foreach (var image in turn.Images)
        {
            var valid = image.Path is not null
                ? image.Url is null && Path.IsPathFullyQualified(image.Path)
                : Uri.TryCreate(image.Url, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps;
            if (!valid)
            {
                throw new ArgumentException($"An image must be an absolute file path or an https URL (got path '{image.Path}', url '{image.Url}').", nameof(turn));
            }
        }
    }

    private static bool IsJsonObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex EffortPattern();
}
