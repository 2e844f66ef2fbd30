using Microsoft.Extensions.Options;

namespace OrleansCodex.Grains.Conversations;

/// <summary>Where conversations keep their files (section <c>Conversations</c>).</summary>
public sealed class ConversationOptions
{
    public const string SectionName = "Conversations";

    /// <summary>Root of the per-conversation working directories: the CLIs run in <c>{WorkDirectory}/{conversation id}</c>, or in
    /// the <c>claude-{uuid}</c> directory of the Claude spare a conversation's first turn took (alias <c>CODEX_WORKDIR</c>). A Claude
    /// session resumes only from the directory it was created in, so each is stable.</summary>
    /// <value><c>{Storage:DataDirectory}/work</c> (so <c>data/work</c>) by default.</value>
    public string? WorkDirectory { get; set; }

    /// <summary>
    /// Turns that may wait behind a conversation's running turn (its turns run one at a time); one more is refused at once with 429
    /// <c>conversation_busy</c>. A waiting turn also counts against <c>Workers:QueueTimeout</c>.
    /// </summary>
    /// <value>8 by default.</value>
    public int MaxQueuedTurns { get; set; } = 8;

    /// <summary>Whether a missing <see cref="WorkDirectory"/> is created (the default one) or is a start-up error (a configured one).</summary>
    internal bool CreateIfMissing { get; set; }
}

internal sealed class ConversationOptionsValidator : IValidateOptions<ConversationOptions>
{
    public ValidateOptionsResult Validate(string? name, ConversationOptions options)
    {
        if (options.MaxQueuedTurns is < 0 or > 1000)
        {
            return ValidateOptionsResult.Fail($"Conversations:MaxQueuedTurns must be between 0 and 1000, not {options.MaxQueuedTurns}.");
        }

        if (string.IsNullOrWhiteSpace(options.WorkDirectory))
        {
            return ValidateOptionsResult.Fail("Conversations:WorkDirectory (CODEX_WORKDIR) must name a directory.");
        }

        try
        {
            var root = Path.GetFullPath(options.WorkDirectory!);
            if (!Directory.Exists(root))
            {
                if (!options.CreateIfMissing)
                {
                    return ValidateOptionsResult.Fail(
                        $"Conversations:WorkDirectory (CODEX_WORKDIR) '{options.WorkDirectory}' does not exist; create it (writable by this service) or point the setting at an existing directory.");
                }

                Directory.CreateDirectory(root);
            }

            var probe = Path.Combine(root, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ValidateOptionsResult.Fail($"Conversations:WorkDirectory (CODEX_WORKDIR) '{options.WorkDirectory}' is not a writable directory: {e.Message}");
        }
    }
}
