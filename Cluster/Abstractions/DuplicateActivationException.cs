namespace OrleansCodex.Cluster;

/// <summary>
/// A node was asked to activate a grain that another node's activation already holds in the grain directory; the call ran no grain
/// code. The runtime sends the call to the registered activation, so callers only see this after repeated races.
/// </summary>
public sealed class DuplicateActivationException(string message) : Exception(message);
