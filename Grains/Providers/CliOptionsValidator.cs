using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Grains.Providers;

/// <summary>Checks <see cref="CliOptions"/> on start-up and reports every problem at once, naming the setting.
/// Whether the CLIs are installed is not checked here: a node without them still starts and reports the provider unavailable.</summary>
public sealed partial class CliOptionsValidator : IValidateOptions<CliOptions>
{
    public ValidateOptionsResult Validate(string? name, CliOptions options)
    {
        var errors = new List<string>();
        const string Section = CliOptions.SectionName;

        if (options.CodexPath is not null && string.IsNullOrWhiteSpace(options.CodexPath))
        {
            errors.Add($"{Section}:CodexPath is blank; remove it to use the installed Codex, or give the path of the codex executable.");
        }

        if (options.ClaudePath is not null && string.IsNullOrWhiteSpace(options.ClaudePath))
        {
            errors.Add($"{Section}:ClaudePath is blank; remove it to use the installed Claude Code, or give the path of the claude executable.");
        }

        if (!Enum.IsDefined(options.CodexMode))
        {
            errors.Add($"{Section}:CodexMode must be {string.Join(" or ", Enum.GetNames<CodexMode>())} (got '{options.CodexMode}').");
        }

        if (!Enum.IsDefined(options.ClaudeMode))
        {
            errors.Add($"{Section}:ClaudeMode must be {string.Join(" or ", Enum.GetNames<ClaudeMode>())} (got '{options.ClaudeMode}').");
        }

        if (options.IdleTimeout < TimeSpan.Zero || options.IdleTimeout > TimeSpan.FromHours(24))
        {
            errors.Add($"{Section}:IdleTimeout must be between 0 (off) and 24:00:00 (got {options.IdleTimeout}).");
        }

        if (options.CodexReasoningEffort is not null && !CliOptions.ReasoningEfforts.Contains(options.CodexReasoningEffort, StringComparer.Ordinal))
        {
            errors.Add($"{Section}:CodexReasoningEffort (CODEX_REASONING_EFFORT) must be one of {string.Join(", ", CliOptions.ReasoningEfforts)} (got '{options.CodexReasoningEffort}').");
        }

        if (!CliOptions.ClaudePermissionModes.Contains(options.ClaudePermissionMode, StringComparer.Ordinal))
        {
            errors.Add($"{Section}:ClaudePermissionMode must be one of {string.Join(", ", CliOptions.ClaudePermissionModes)} (got '{options.ClaudePermissionMode}').");
        }
        else if (options.ClaudePermissionMode == "bypassPermissions" && !options.ClaudeAllowBypassPermissions)
        {
            errors.Add($"{Section}:ClaudePermissionMode bypassPermissions lets the model run any command on this machine; set {Section}:ClaudeAllowBypassPermissions=true to allow it.");
        }

        if (options.ClaudeTools is { } tools && !ClaudeToolListPattern().IsMatch(tools))
        {
            errors.Add($"{Section}:ClaudeTools must be a comma-separated list of tool names, or empty for none (got '{tools}').");
        }

        foreach (var tool in options.ClaudeAllowedTools)
        {
            if (string.IsNullOrWhiteSpace(tool) || tool.StartsWith('-') || tool.Any(char.IsControl))
            {
                errors.Add($"{Section}:ClaudeAllowedTools has an invalid entry '{tool}' (a tool name or rule such as Bash(git diff:*)).");
            }
        }

        if (options.TurnTimeout <= TimeSpan.Zero || options.TurnTimeout > TimeSpan.FromHours(24))
        {
            errors.Add($"{Section}:TurnTimeout must be more than 0 and at most 24:00:00 (got {options.TurnTimeout}).");
        }

        if (options.ClaudeMaxRetries is < 0 or > 10)
        {
            errors.Add($"{Section}:ClaudeMaxRetries must be between 0 and 10 (got {options.ClaudeMaxRetries}).");
        }

        if (!CliOptions.SandboxModes.Contains(options.CodexSandboxMode, StringComparer.Ordinal))
        {
            errors.Add($"{Section}:CodexSandboxMode must be one of {string.Join(", ", CliOptions.SandboxModes)} (got '{options.CodexSandboxMode}').");
        }
        else if (options.CodexSandboxMode == "danger-full-access" && !options.CodexAllowDangerFullAccess)
        {
            errors.Add($"{Section}:CodexSandboxMode danger-full-access lets the model run any command on this machine; set {Section}:CodexAllowDangerFullAccess=true to allow it.");
        }

        if (options.StatusCheckTimeout <= TimeSpan.Zero || options.StatusCheckTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Section}:StatusCheckTimeout must be more than 0 and at most 00:05:00 (got {options.StatusCheckTimeout}).");
        }

        if (options.StatusRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Section}:StatusRefreshInterval must be at least 00:00:01 (got {options.StatusRefreshInterval}).");
        }

        foreach (var key in options.ExtraEnvironment.Keys)
        {
            if (string.IsNullOrWhiteSpace(key) || key.Contains('=') || key.Contains('\0'))
            {
                errors.Add($"{Section}:ExtraEnvironment has an invalid variable name '{key}' (it must be non-blank without '=').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^([A-Za-z][A-Za-z0-9_]*( *, *[A-Za-z][A-Za-z0-9_]*)*)?$")]
    private static partial Regex ClaudeToolListPattern();
}
