namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// The CLI providers this node serves, from <c>Cluster:Providers</c> (comma-separated, default <c>codex,claude</c>). Published as the
/// node's <c>providers</c> metadata, so that placement never puts a conversation for a provider on a node without it.
/// </summary>
public sealed class ServedProviders
{
    public const string SettingName = "Cluster:Providers";

    public ServedProviders(IReadOnlyCollection<CliProvider> providers, string setting)
    {
        Providers = providers;
        Setting = setting;
    }

    public IReadOnlyCollection<CliProvider> Providers { get; }

    /// <summary>The normalised setting, e.g. <c>codex,claude</c>.</summary>
    public string Setting { get; }

    public bool Serves(CliProvider provider) => Providers.Contains(provider);

    /// <summary>Parses the setting; throws <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> naming it when a value is unknown or none is given.</summary>
    public static ServedProviders Parse(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return new ServedProviders([CliProvider.Codex, CliProvider.Claude], "codex,claude");
        }

        var providers = new List<CliProvider>();
        foreach (var name in setting.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var provider = name.ToLowerInvariant() switch
            {
                "codex" => CliProvider.Codex,
                "claude" => CliProvider.Claude,
                _ => throw new Microsoft.Extensions.Options.OptionsValidationException(SettingName, typeof(ServedProviders),
                    [$"{SettingName} lists '{name}'; the providers are 'codex' and 'claude' (comma-separated)."]),
            };
            if (!providers.Contains(provider))
            {
                providers.Add(provider);
            }
        }

        if (providers.Count == 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(SettingName, typeof(ServedProviders), [$"{SettingName} must name at least one provider."]);
        }

        return new ServedProviders(providers, string.Join(',', providers.Select(ModelRouting.ProviderName)));
    }

    /// <summary>Whether a silo's <c>providers</c> metadata (see <see cref="ModelRouting.ProvidersMetadataKey"/>) names <paramref name="provider"/>.</summary>
    public static bool Lists(string? providersMetadata, CliProvider provider) =>
        providersMetadata is not null
        && providersMetadata.Split(',', StringSplitOptions.TrimEntries).Contains(ModelRouting.ProviderName(provider), StringComparer.OrdinalIgnoreCase);
}
