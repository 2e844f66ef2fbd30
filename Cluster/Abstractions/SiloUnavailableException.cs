namespace OrleansCodex.Cluster;

/// <summary>
/// The node that should run a call is shutting down or gone. Refused before sending (<see cref="NotDelivered"/>): no grain saw the
/// call, and the runtime sends it again to the grain's next location. Lost while in flight: the outcome is unknown and the call is
/// never resubmitted automatically, as in Orleans.
/// </summary>
public sealed class SiloUnavailableException : Exception
{
    public SiloUnavailableException(string message)
        : this(message, notDelivered: false)
    {
    }

    public SiloUnavailableException(string message, bool notDelivered)
        : base(message) => NotDelivered = notDelivered;

    /// <summary>True when the call certainly reached no grain code, so sending it elsewhere cannot run it twice.</summary>
    public bool NotDelivered { get; }
}
