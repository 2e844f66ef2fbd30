using Microsoft.Extensions.Options;

namespace OrleansCodex.Api.Options;

/// <summary>Checks <see cref="ApiOptions"/> on start-up, reporting every bad setting at once.</summary>
internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var errors = new List<string>();
        if (options.MaxRequestBodyBytes < 1024)
        {
            errors.Add($"Api:MaxRequestBodyBytes must be at least 1024 bytes (got {options.MaxRequestBodyBytes}).");
        }

        if (options.KeepAliveInterval < TimeSpan.FromSeconds(1) || options.KeepAliveInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"Api:KeepAliveInterval must be between 00:00:01 and 00:05:00 (got {options.KeepAliveInterval}).");
        }

        if (options.FirstEventWait < TimeSpan.Zero || options.FirstEventWait > TimeSpan.FromMinutes(1))
        {
            errors.Add($"Api:FirstEventWait must be between 00:00:00 and 00:01:00 (got {options.FirstEventWait}).");
        }

        if (options.RetryAfterSeconds is < 1 or > 3600)
        {
            errors.Add($"Api:RetryAfterSeconds must be between 1 and 3600 (got {options.RetryAfterSeconds}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
