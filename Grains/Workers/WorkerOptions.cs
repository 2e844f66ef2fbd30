using Microsoft.Extensions.Options;

namespace OrleansCodex.Grains.Workers;

/// <summary>How many CLI turns this node runs at once (section <c>Workers</c>).</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Workers";

    /// <summary>Codex turns this node runs at once (its CLI slots).</summary>
    /// <value>4 by default.</value>
    public int Codex { get; set; } = 4;

    /// <summary>Claude Code turns this node runs at once (its CLI slots).</summary>
    /// <value>4 by default.</value>
    public int Claude { get; set; } = 4;

    /// <summary>How long a turn waits for a free worker before it fails with 503 <c>overloaded</c> and <c>Retry-After</c>.</summary>
    /// <value>30 seconds by default.</value>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many turns per provider may wait for a free worker; one more is refused at once with 429 and <c>Retry-After</c>.</summary>
    /// <value>32 by default.</value>
    public int MaxQueuedTurns { get; set; } = 32;

    /// <summary>Persistent Claude Code processes (one per active conversation, <c>Cli:ClaudeMode=Stream</c>) kept on this node; the
    /// least recently used idle one is ended to make room. At least <see cref="Claude"/>.</summary>
    /// <value>16 by default.</value>
    public int ClaudeProcesses { get; set; } = 16;

    /// <summary>How long a persistent CLI process may sit without a turn before it is ended (its session resumes later from disk).</summary>
    /// <value>10 minutes by default.</value>
    public TimeSpan ProcessIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Claude Code processes started ahead of any turn (<c>Cli:ClaudeMode=Stream</c>), for each of: new stored sessions, and one-shot
    /// <c>store:false</c> turns. A new conversation's first turn takes one and skips Claude's start; a new one is started right away.
    /// 0 turns them off.
    /// </summary>
    /// <value>1 by default.</value>
    public int ClaudeSpares { get; set; } = 1;

    /// <summary>Start the warm CLI processes (the Codex app-server, the Claude spares) when the node starts, instead of after the first turn.</summary>
    /// <value>True by default.</value>
    public bool Prewarm { get; set; } = true;
}

internal sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var errors = new List<string>();
        if (options.Codex is < 1 or > 256)
        {
            errors.Add($"Workers:Codex must be between 1 and 256, not {options.Codex}.");
        }

        if (options.Claude is < 1 or > 256)
        {
            errors.Add($"Workers:Claude must be between 1 and 256, not {options.Claude}.");
        }

        if (options.MaxQueuedTurns is < 0 or > 100_000)
        {
            errors.Add($"Workers:MaxQueuedTurns must be between 0 and 100000, not {options.MaxQueuedTurns}.");
        }

        if (options.ClaudeProcesses < options.Claude || options.ClaudeProcesses > 1024)
        {
            errors.Add($"Workers:ClaudeProcesses must be at least Workers:Claude ({options.Claude}) and at most 1024, not {options.ClaudeProcesses}.");
        }

        if (options.ClaudeSpares is < 0 or > 16)
        {
            errors.Add($"Workers:ClaudeSpares must be between 0 and 16, not {options.ClaudeSpares}.");
        }

        if (options.ProcessIdleTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Workers:ProcessIdleTimeout must be at least 00:00:01, not {options.ProcessIdleTimeout}.");
        }

        if (options.QueueTimeout <= TimeSpan.Zero)
        {
            errors.Add($"Workers:QueueTimeout must be positive, not {options.QueueTimeout}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
