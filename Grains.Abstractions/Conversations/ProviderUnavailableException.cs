namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// Placement found no active silo that serves the provider of a new conversation's model (silo metadata <c>providers</c>, from
/// <c>Cluster:Providers</c>). The front end answers 503 <c>provider_unavailable</c>.
/// </summary>
[GenerateSerializer, Alias("OrleansCodex.ProviderUnavailableException")]
public sealed class ProviderUnavailableException : OrleansException
{
    public ProviderUnavailableException(string provider)
        : base($"No active node of the cluster serves {provider} (Cluster:Providers); retry later or use another model.")
    {
        Provider = provider;
    }

    /// <summary>The provider's name, e.g. <c>claude</c>.</summary>
    [Id(0)]
    public string Provider { get; private set; }
}
