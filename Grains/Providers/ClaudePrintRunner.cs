using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// Runs a turn with <c>claude -p --input-format stream-json --output-format stream-json --verbose --include-partial-messages</c>
/// (one process per turn; the prompt and images go to stdin as one user message).
/// Text streams token by token from the <c>stream_event</c> deltas. The outcome is decided by the final <c>result</c> object,
/// never by the exit code (Claude exits 0 on some failures and non-zero on some successes).
/// </summary>
public sealed class ClaudePrintRunner(IOptionsMonitor<CliOptions> options, ILogger<ClaudePrintRunner> logger, TimeProvider timeProvider)
    : CliRunnerBase(options, logger, timeProvider)
{
    public override CliProvider Provider => CliProvider.Claude;

    /// <summary>See <see cref="ClaudeArguments.Build"/>; the server's permission settings come from <paramref name="options"/> only.</summary>
    internal override IReadOnlyList<string> BuildArguments(CliTurn turn, CliOptions options) =>
        ClaudeArguments.Build(turn.Model, turn.ResumeSessionId, turn.NewSessionId, ClaudeProcessSettings.For(turn, options));

    /// <summary>One stream-json user message (images, then the prompt); stdin is then closed, and Claude still finishes the turn.</summary>
    private protected override async Task<string> StdinAsync(CliTurn turn, CancellationToken cancellationToken) =>
        await ClaudeInput.UserMessageAsync(turn, cancellationToken) + "\n";

    internal override IReadOnlyDictionary<string, string?> BuildEnvironment(CliOptions options) =>
        EnvironmentWith(options,
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("CLAUDE_CODE_MAX_RETRIES", options.ClaudeMaxRetries.ToString(CultureInfo.InvariantCulture)));

    private protected override string? ConfiguredPath(CliOptions options) => options.ClaudePath;

    private protected override ICliTurnParser CreateParser(CliTurn turn) => new ClaudeTurnParser(turn);

    /// <summary><c>claude auth status</c> prints <c>{"loggedIn":true|false,…}</c>; it works offline and counts ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN.</summary>
    private protected override async Task<string?> CheckLoginAsync(string executablePath, IReadOnlyDictionary<string, string?> environment, CliOptions options, CancellationToken cancellationToken)
    {
        var probe = await ProbeAsync(executablePath, ["auth", "status"], environment, options, cancellationToken);
        bool? loggedIn = null;
        try
        {
            using var document = JsonDocument.Parse(probe.Stdout);
            if (document.RootElement.TryGetProperty("loggedIn", out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                loggedIn = value.GetBoolean();
            }
        }
        catch (JsonException)
        {
        }

        return loggedIn switch
        {
            true => null,
            false => "Claude Code is not logged in. Run `claude` on this node and log in (or set ANTHROPIC_API_KEY).",
            null => $"`claude auth status` gave no answer ({(probe.TimedOut ? "timed out" : CliErrors.MostRelevantLine(probe.Stderr + "\n" + probe.Stdout))}). Run `claude` on this node and log in (or set ANTHROPIC_API_KEY).",
        };
    }
}
