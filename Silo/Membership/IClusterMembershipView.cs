namespace OrleansCodex.Silo.Membership;

/// <summary>
/// What this process knows of the cluster's silos: their status, and a signal when one is declared dead. A silo sees Orleans' own
/// membership view; a pure client, which Orleans tells of a dead silo only by call timeouts, reads the membership table itself.
/// Used to end streams from a dead silo at once instead of after the call timeout.
/// </summary>
public interface IClusterMembershipView
{
    /// <summary>The silos the membership table lists that are not dead, as last seen.</summary>
    IReadOnlyList<KnownSilo> Members { get; }

    /// <summary>Completes when <paramref name="silo"/> is declared dead (at once if it already is); otherwise never.</summary>
    Task WhenDeadAsync(SiloAddress silo, CancellationToken cancellationToken);
}

/// <summary>A silo as membership lists it.</summary>
/// <param name="Status">Orleans' <see cref="SiloStatus"/> name: <c>Joining</c>, <c>Active</c>, <c>ShuttingDown</c>, <c>Stopping</c>, <c>Dead</c>.</param>
public sealed record KnownSilo(SiloAddress Address, string Name, string Status);
