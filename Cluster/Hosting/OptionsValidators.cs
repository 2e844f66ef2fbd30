using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>Checks <see cref="ClusterOptions"/>, reporting every bad setting at once by its configuration name.</summary>
internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var errors = new List<string>();
        RequirePositive(errors, nameof(ClusterOptions.IdleDeactivationAge), options.IdleDeactivationAge);
        RequirePositive(errors, nameof(ClusterOptions.CollectionScanPeriod), options.CollectionScanPeriod);
        RequirePositive(errors, nameof(ClusterOptions.ShutdownTimeout), options.ShutdownTimeout);
        if (string.IsNullOrWhiteSpace(options.NodeId))
        {
            errors.Add($"{ClusterOptions.SectionName}:{nameof(ClusterOptions.NodeId)} must not be empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequirePositive(List<string> errors, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{ClusterOptions.SectionName}:{setting} must be a positive time span (e.g. 00:15:00), not '{value}'.");
        }
    }
}

/// <summary>Checks <see cref="StorageOptions"/>, reporting every bad setting at once by its configuration name.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var errors = new List<string>();
        var provider = $"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}";
        switch (options.Kind)
        {
            case null:
                errors.Add($"{provider} must be {nameof(DatabaseKind.Sqlite)} or {nameof(DatabaseKind.Postgres)}, not '{options.Provider}'.");
                break;
            case DatabaseKind.Postgres when string.IsNullOrWhiteSpace(options.PostgresConnectionString):
                errors.Add($"ConnectionStrings:Postgres is required when {provider} is {nameof(DatabaseKind.Postgres)}.");
                break;
            case DatabaseKind.Sqlite when string.IsNullOrWhiteSpace(options.DataDirectory) && string.IsNullOrWhiteSpace(options.SqlitePath):
                errors.Add($"{StorageOptions.SectionName}:{nameof(StorageOptions.DataDirectory)} or {StorageOptions.SectionName}:{nameof(StorageOptions.SqlitePath)} must be set when {provider} is {nameof(DatabaseKind.Sqlite)}.");
                break;
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
