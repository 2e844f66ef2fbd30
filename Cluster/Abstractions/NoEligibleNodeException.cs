namespace OrleansCodex.Cluster;

/// <summary>
/// A new activation could not be placed: no active node of the cluster passes the grain's placement filters (for a conversation:
/// no node serves the requested provider), or membership has not been read yet. Nothing ran.
/// </summary>
public sealed class NoEligibleNodeException(string message) : Exception(message);
