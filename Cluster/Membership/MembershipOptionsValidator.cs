using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Membership;

/// <summary>Checks <see cref="MembershipOptions"/>, reporting every bad setting at once by its configuration name.</summary>
internal sealed class MembershipOptionsValidator : IValidateOptions<MembershipOptions>
{
    public ValidateOptionsResult Validate(string? name, MembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            errors.Add($"{Setting(nameof(MembershipOptions.ClusterId))} must not be empty.");
        }

        RequirePositive(errors, nameof(MembershipOptions.HeartbeatPeriod), options.HeartbeatPeriod);
        RequirePositive(errors, nameof(MembershipOptions.DeathTimeout), options.DeathTimeout);
        RequirePositive(errors, nameof(MembershipOptions.DefunctEntryExpiration), options.DefunctEntryExpiration);
        if (options.HeartbeatPeriod > TimeSpan.Zero && options.DeathTimeout > TimeSpan.Zero && options.DeathTimeout < 2 * options.HeartbeatPeriod)
        {
            errors.Add($"{Setting(nameof(MembershipOptions.DeathTimeout))} must be at least twice {Setting(nameof(MembershipOptions.HeartbeatPeriod))} " +
                $"({2 * options.HeartbeatPeriod}), not '{options.DeathTimeout}'; otherwise one late heartbeat declares a healthy node dead.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string Setting(string name) => $"{MembershipOptions.SectionName}:{name}";

    private static void RequirePositive(List<string> errors, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{Setting(setting)} must be a positive time span (e.g. 00:00:03), not '{value}'.");
        }
    }
}
