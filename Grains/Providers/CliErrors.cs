using System.Text.RegularExpressions;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>Turns what a CLI said about a failure into a <see cref="TurnError"/>. The CLI's own words are kept in the message.</summary>
internal static partial class CliErrors
{
    private const int MaxMessageChars = 1000;

    public static TurnError Codex(string cliMessage)
    {
        var message = Clean(cliMessage);
        var status = StatusCode(message);
        if (status is 401 or 403
            || Contains(message, "Unauthorized", "Forbidden", "Missing environment variable", "Not logged in", "refresh token", "invalid_api_key"))
        {
            return new TurnError(TurnErrorCodes.UpstreamAuth,
                $"Codex's upstream refused its credentials ({message}). The operator must run `codex login` on this node, or fix the API key of the configured model provider.");
        }

        if (status == 429 || Contains(message, "Too Many Requests", "rate limit", "usage limit", "insufficient_quota"))
        {
            return new TurnError(TurnErrorCodes.UpstreamRateLimited, $"Codex's upstream is rate limiting requests: {message}");
        }

        if (Contains(message, "does not exist or you do not have access", "model_not_found", "model not found") || (status == 404 && Contains(message, "model")))
        {
            return new TurnError(TurnErrorCodes.ModelNotFound, $"Codex's upstream does not know the model: {message}");
        }

        return new TurnError(TurnErrorCodes.UpstreamError, $"Codex failed: {message}");
    }

    public static TurnError Claude(int? status, string cliMessage)
    {
        var message = Clean(cliMessage);
        if (status is 401 or 403 || Contains(message, "Not logged in", "Invalid API key", "Failed to authenticate", "/login", "OAuth token"))
        {
            return new TurnError(TurnErrorCodes.UpstreamAuth,
                $"Claude Code could not authenticate upstream ({message}). The operator must run `claude` on this node and log in, or set ANTHROPIC_API_KEY.");
        }

        if (status == 429 || Contains(message, "(429)", "rate limit", "usage limit"))
        {
            return new TurnError(TurnErrorCodes.UpstreamRateLimited, $"Claude Code's upstream is rate limiting requests: {message}");
        }

        if ((status == 404 && Contains(message, "model")) || Contains(message, "issue with the selected model"))
        {
            return new TurnError(TurnErrorCodes.ModelNotFound, $"Claude Code's upstream does not know the model: {message}");
        }

        return new TurnError(TurnErrorCodes.UpstreamError, $"Claude Code failed: {message}");
    }

    public static TurnError SessionNotFound(CliProvider provider, string sessionId, string workingDirectory, string cliMessage) =>
        new(TurnErrorCodes.SessionNotFound, provider == CliProvider.Codex
            ? $"Codex thread {sessionId} was not found on this node ({Clean(cliMessage)})."
            : $"Claude Code session {sessionId} was not found for {workingDirectory} on this node ({Clean(cliMessage)}).");

    /// <summary>
    /// Null, or the refusal of a Codex turn with a remote image: <c>codex exec -i</c> reads files only, and the app-server answers
    /// <c>turn/start</c> with "remote image URLs are not supported" (Codex 0.169). This server never fetches images itself.
    /// </summary>
    public static TurnError? CodexRemoteImage(Workers.CliTurn turn) =>
        turn.Images.FirstOrDefault(i => i.Url is not null) is { } remote
            ? new TurnError(TurnErrorCodes.UnsupportedInput,
                $"Codex cannot take the image URL {remote.Url}: it accepts image files and data: URLs only, and this server does not fetch images. Send the image as a data: URL.")
            : null;

    /// <summary>The turn ran past its deadline; <paramref name="ending"/> says what was done to the CLI ("stopped", "interrupted").</summary>
    public static TurnError DeadlinePassed(string cli, TimeSpan timeout, string ending) =>
        new(TurnErrorCodes.Timeout, $"The {cli} CLI did not finish the turn within {timeout.TotalSeconds:0.#} s; it was {ending}.");

    /// <summary>The CLI went silent for longer than the turn's idle timeout (<see cref="Workers.CliTurn.IdleTimeout"/>).</summary>
    public static TurnError NoOutput(string cli, TimeSpan idleTimeout, string ending) =>
        new(TurnErrorCodes.Timeout, $"The {cli} CLI sent no output for {idleTimeout.TotalSeconds:0.#} s (the idle timeout, Cli:IdleTimeout); it was {ending}.");

    /// <summary>The most telling line of a stderr tail: the last one that reports an error, else the last one.</summary>
    public static string MostRelevantLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))
            ?? lines.LastOrDefault()
            ?? "";
    }

    /// <summary>Drops the upstream URL Codex appends (it names internal hosts) and bounds the length.</summary>
    private static string Clean(string message)
    {
        message = UpstreamUrl().Replace(message.Trim(), "");
        return message.Length <= MaxMessageChars ? message : message[..MaxMessageChars] + "…";
    }

    private static int? StatusCode(string message)
    {
        var match = Status().Match(message);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private static bool Contains(string message, params string[] needles) =>
        needles.Any(n => message.Contains(n, StringComparison.OrdinalIgnoreCase));

    [GeneratedRegex(@"status:?\s+(\d{3})\b", RegexOptions.IgnoreCase)]
    private static partial Regex Status();

    [GeneratedRegex(@",?\s*url:\s*\S+")]
    private static partial Regex UpstreamUrl();
}
