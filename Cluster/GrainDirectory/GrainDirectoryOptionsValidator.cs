using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.GrainDirectory;

/// <summary>Checks <see cref="GrainDirectoryOptions"/>, naming the setting and what is allowed.</summary>
internal sealed class GrainDirectoryOptionsValidator : IValidateOptions<GrainDirectoryOptions>
{
    public ValidateOptionsResult Validate(string? name, GrainDirectoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.DirectoryCacheSize > 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{GrainDirectoryOptions.SectionName}:{nameof(GrainDirectoryOptions.DirectoryCacheSize)} must be a positive number of entries, not {options.DirectoryCacheSize}.");
    }
}
