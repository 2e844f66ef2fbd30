using Microsoft.Extensions.Options;

namespace OrleansCodex.Grains.Workers;

/// <summary>How many CLI turns this node runs at once (section <c>Workers</c>).</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Workers";

    /// <summary>Codex worker grains on this node.</summary>
    /// <value>4 by default.</value>
    public int Codex { get; set; } = 4;

    /// <summary>Claude Code worker grains on this node.</summary>
    /// <value>4 by default.</value>
    public int Claude { get; set; } = 4;

    /// <summary>How long a turn waits for a free worker before it fails with 503 <c>overloaded</c>.</summary>
    /// <value>30 seconds by default.</value>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);
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

        if (options.QueueTimeout <= TimeSpan.Zero)
        {
            errors.Add($"Workers:QueueTimeout must be positive, not {options.QueueTimeout}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
