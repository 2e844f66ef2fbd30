using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Hosting;

/// <summary>Checks <see cref="ClusterOptions"/>, reporting every bad setting at once by its configuration name.</summary>
/// <param name="hostsGrains">A silo (true) or a pure client (false).</param>
/// <param name="configuration">For the listen URLs an unset <see cref="ClusterOptions.AdvertisedUrl"/> is derived from.</param>
internal sealed class ClusterOptionsValidator(bool hostsGrains = true, IConfiguration? configuration = null) : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var errors = new List<string>();
        var mode = $"{ClusterOptions.SectionName}:{nameof(ClusterOptions.Mode)}";
        switch (options.ParsedMode)
        {
            case null:
                errors.Add($"{mode} must be {nameof(ClusterMode.Local)} or {nameof(ClusterMode.Postgres)}, not '{options.Mode}'.");
                break;
            case ClusterMode.Local when !hostsGrains:
                errors.Add($"A pure cluster client needs {mode} = {nameof(ClusterMode.Postgres)} (and ConnectionStrings:Postgres) to find the silos.");
                break;
            case ClusterMode.Postgres when hostsGrains:
                var advertised = ClusterServiceCollectionExtensions.AdvertisedEndpoint(options, configuration ?? new ConfigurationBuilder().Build());
                if (advertised is null)
                {
                    errors.Add($"{ClusterOptions.SectionName}:{nameof(ClusterOptions.AdvertisedUrl)} is required in {nameof(ClusterMode.Postgres)} mode when no listen URL is configured: the URL other nodes reach this one at, e.g. http://node-1:8080/.");
                }
                else if (!Uri.TryCreate(advertised, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
                {
                    errors.Add($"{ClusterOptions.SectionName}:{nameof(ClusterOptions.AdvertisedUrl)} must be an absolute http(s) URL, not '{advertised}'.");
                }

                break;
        }

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
