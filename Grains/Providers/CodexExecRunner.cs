using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// Runs a turn with <c>codex exec --json</c> (one process per turn). <c>exec</c> prints each agent message only when it is
/// complete, so a turn streams one <see cref="TurnEventKind.TextDelta"/> per message, not per token. Codex reports the
/// thread's running usage; the turn's own usage is that total minus <see cref="CliTurn.SessionUsageBefore"/>.
/// </summary>
public sealed class CodexExecRunner(IOptionsMonitor<CliOptions> options, ILogger<CodexExecRunner> logger, TimeProvider timeProvider)
    : CliRunnerBase(options, logger, timeProvider)
{
    public override CliProvider Provider => CliProvider.Codex;

    /// <summary>The folder of the conversation's directory that holds the output schema files given to <c>--output-schema</c>.</summary>
    public const string SchemaDirectoryName = ".schemas";

    /// <summary>
    /// <c>exec --json --skip-git-repo-check [-i IMAGE]… -m M -s SANDBOX -C DIR -c … [--output-schema FILE] [--ephemeral] [resume UUID] -</c>.
    /// Exec-level options come before <c>resume</c> (it rejects some after it), <c>-m</c> is repeated on resume (resume does not
    /// restore the model), and the three <c>-c</c> switches stop Codex's outbound traffic and its endless reconnects even when
    /// config.toml does not. <c>-i</c> takes several values and would swallow the positional arguments after it.
    /// </summary>
    internal override IReadOnlyList<string> BuildArguments(CliTurn turn, CliOptions options)
    {
        var arguments = new List<string> { "exec", "--json", "--skip-git-repo-check" };
        foreach (var image in turn.Images)
        {
            // Each -i is followed by another option, never by a positional argument it would swallow as a further image.
            arguments.AddRange(["-i", image.Path ?? throw new ArgumentException("codex exec takes image files only.", nameof(turn))]);
        }

        arguments.AddRange(
        [
            "-m", turn.Model,
            "-s", turn.Sandbox ?? options.CodexSandboxMode,
            "-C", turn.WorkingDirectory,
            "-c", "analytics.enabled=false",
            "-c", "features.plugins=false",
            "-c", "features.unbounded_connection_retries=false",
            "-c", $"sandbox_workspace_write.network_access={(turn.NetworkAccess ? "true" : "false")}",
        ]);
        if (turn.ReasoningEffort is not null)
        {
            arguments.AddRange(["-c", $"model_reasoning_effort={TomlString(turn.ReasoningEffort)}"]);
        }

        if (turn.Instructions is not null)
        {
            // Only a new thread takes them: a resumed thread keeps the developer instructions it started with.
            arguments.AddRange(["-c", $"developer_instructions={TomlString(turn.Instructions)}"]);
        }

        if (turn.OutputSchema is not null)
        {
            arguments.AddRange(["--output-schema", SchemaPath(turn)]);
        }

        if (turn.Ephemeral)
        {
            arguments.Add("--ephemeral");
        }

        if (turn.ResumeSessionId is not null)
        {
            arguments.AddRange(["resume", turn.ResumeSessionId]);
        }

        arguments.Add("-");
        return arguments;
    }

    /// <summary>Where a turn's output schema is written: named by its content, so the same schema is one file however often it is used.</summary>
    internal static string SchemaPath(CliTurn turn)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(turn.OutputSchema ?? "")))[..16];
        return Path.Combine(turn.WorkingDirectory, SchemaDirectoryName, $"{hash}.json");
    }

    /// <summary>Refuses a remote image (<see cref="CliErrors.CodexRemoteImage"/>), and writes the output schema where <c>--output-schema</c> reads it.</summary>
    private protected override async Task<TurnError?> PrepareAsync(CliTurn turn, CancellationToken cancellationToken)
    {
        if (CliErrors.CodexRemoteImage(turn) is { } refused)
        {
            return refused;
        }

        if (turn.OutputSchema is not null)
        {
            var path = SchemaPath(turn);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, turn.OutputSchema, cancellationToken);
        }

        return null;
    }

    internal override IReadOnlyDictionary<string, string?> BuildEnvironment(CliOptions options) =>
        EnvironmentWith(options, ("RUST_BACKTRACE", "0"), ("NO_COLOR", "1"));

    /// <summary>A TOML basic string: <c>-c key=value</c> values are parsed as TOML.</summary>
    internal static string TomlString(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case < ' ' or '\u007f': builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"); break;
                default: builder.Append(c); break;
            }
        }

        return builder.Append('"').ToString();
    }

    private protected override string? ConfiguredPath(CliOptions options) => options.CodexPath;

    private protected override ICliTurnParser CreateParser(CliTurn turn) => new Parser(turn);

    /// <summary>
    /// <c>codex login status</c> knows only OpenAI sign-in, so a custom <c>model_provider</c> in config.toml or an API key in the
    /// environment also count as logged in (the provider's own credentials are then checked on the first turn).
    /// </summary>
    private protected override async Task<string?> CheckLoginAsync(string executablePath, IReadOnlyDictionary<string, string?> environment, CliOptions options, CancellationToken cancellationToken)
    {
        if (EffectiveVariable(environment, "CODEX_API_KEY") is not null || EffectiveVariable(environment, "OPENAI_API_KEY") is not null)
        {
            return null;
        }

        var home = EffectiveVariable(environment, "CODEX_HOME")
            ?? Path.Combine(EffectiveVariable(environment, "HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".codex");
        if (CustomModelProvider(Path.Combine(home, "config.toml")) is not null)
        {
            return null;
        }

        var probe = await ProbeAsync(executablePath, ["login", "status"], environment, options, cancellationToken);
        if (probe.ExitCode == 0)
        {
            return null;
        }

        var said = probe.TimedOut ? "`codex login status` did not answer" : CliErrors.MostRelevantLine(probe.Stderr + "\n" + probe.Stdout);
        return $"Codex is not logged in ({said}). Run `codex login` on this node (CODEX_HOME={home}), or set CODEX_API_KEY, or configure a model_provider in its config.toml.";
    }

    /// <summary>
    /// The top-level <c>model_provider</c> of a config.toml when it is not OpenAI's; null when it is OpenAI's or unset, or when the
    /// file cannot be read (<see cref="CodexConfig"/>), which leaves the answer to <c>codex login status</c>.
    /// </summary>
    internal static string? CustomModelProvider(string configPath) =>
        CodexConfig.TryReadModelProvider(configPath, out var provider, out _)
        && !string.IsNullOrWhiteSpace(provider.Name)
        && !provider.Name.Equals(CodexConfig.OpenAi, StringComparison.OrdinalIgnoreCase)
            ? provider.Name
            : null;

    /// <summary>
    /// <c>thread.started</c> → session; each <c>agent_message</c> → one delta (messages joined by a blank line); <c>turn.completed</c>
    /// → usage; <c>turn.failed</c> → the error. <c>error</c> events and items are not fatal (warnings, reconnects); only the
    /// absence of <c>turn.completed</c> is.
    /// </summary>
    private sealed class Parser(CliTurn turn) : ICliTurnParser
    {
        private readonly StringBuilder _text = new();
        private string? _threadId;
        private TokenUsage? _total;
        private string? _failure;
        private string? _lastError;

        public IEnumerable<TurnEvent> OnEvent(JsonElement line)
        {
            switch (Str(line, "type"))
            {
                case "thread.started" when _threadId is null && Str(line, "thread_id") is { } threadId:
                    _threadId = threadId;
                    yield return TurnEvent.Session(threadId);
                    break;
                case "item.completed" when line.TryGetProperty("item", out var item):
                    var itemType = Str(item, "type");
                    if (itemType == "agent_message" && Str(item, "text") is { } text)
                    {
                        var delta = _text.Length > 0 ? "\n\n" + text : text;
                        _text.Append(delta);
                        yield return TurnEvent.Delta(delta);
                    }
                    else if (itemType == "error")
                    {
                        _lastError = Str(item, "message") ?? _lastError;
                    }

                    break;
                case "error":
                    _lastError = Str(line, "message") ?? _lastError;
                    break;
                case "turn.completed" when line.TryGetProperty("usage", out var usage):
                    _total = new TokenUsage(Long(usage, "input_tokens"), Long(usage, "cached_input_tokens"), Long(usage, "output_tokens"), Long(usage, "reasoning_output_tokens"));
                    break;
                case "turn.failed":
                    _failure = line.TryGetProperty("error", out var error) ? Str(error, "message") : null;
                    _failure ??= _lastError ?? "turn failed";
                    break;
            }
        }

        public IEnumerable<TurnEvent> Finish(int exitCode, string stderrTail)
        {
            if (_failure is not null)
            {
                yield return TurnEvent.Fail(CliErrors.Codex(_failure));
            }
            else if (_total is not null)
            {
                yield return TurnEvent.Done(_text.ToString(), _total.Minus(turn.SessionUsageBefore ?? TokenUsage.Zero), _total);
            }
            else if (turn.ResumeSessionId is not null && stderrTail.Contains("no rollout found", StringComparison.Ordinal))
            {
                yield return TurnEvent.Fail(CliErrors.SessionNotFound(CliProvider.Codex, turn.ResumeSessionId, turn.WorkingDirectory, CliErrors.MostRelevantLine(stderrTail)));
            }
            else
            {
                var said = CliErrors.MostRelevantLine(stderrTail);
                if (said.Length == 0)
                {
                    said = _lastError ?? "no output";
                }

                var error = CliErrors.Codex(said);
                yield return TurnEvent.Fail(error.Code == TurnErrorCodes.UpstreamError
                    ? error with { Message = $"Codex exited with code {exitCode} without finishing the turn: {said}" }
                    : error);
            }
        }

        private static string? Str(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static long Long(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
    }
}
