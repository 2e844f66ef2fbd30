namespace OrleansCodex.Api.Health;

/// <summary><c>GET /health</c>: <c>ok</c> when every provider is available, else <c>degraded</c>.</summary>
public sealed record HealthReport(string Status, IReadOnlyList<ProviderHealth> Providers);

/// <summary>One CLI provider; <see cref="Message"/> tells the operator what to do when it is unavailable.</summary>
public sealed record ProviderHealth(string Name, bool Available, string? Version, string? Message);
