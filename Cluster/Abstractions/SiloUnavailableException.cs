namespace OrleansCodex.Cluster;

/// <summary>The node that should run a call is shutting down or gone; the call was not delivered to any grain.</summary>
public sealed class SiloUnavailableException(string message) : Exception(message);
