namespace OrleansCodex.Cluster;

/// <summary>The node that should run a call is shutting down or gone. Refused before sending: not delivered; lost while in flight: the outcome is unknown (never resubmitted automatically).</summary>
public sealed class SiloUnavailableException(string message) : Exception(message);
