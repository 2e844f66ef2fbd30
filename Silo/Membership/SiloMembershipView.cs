namespace OrleansCodex.Silo.Membership;

/// <summary>The silo's own membership view (Orleans' <see cref="IClusterMembershipService"/>): a death is seen the moment it is declared.</summary>
internal sealed class SiloMembershipView(IClusterMembershipService membership) : IClusterMembershipView
{
    public IReadOnlyList<KnownSilo> Members =>
        membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status != SiloStatus.Dead)
            .Select(m => new KnownSilo(m.SiloAddress, m.Name, m.Status.ToString()))
            .ToList();

    public async Task WhenDeadAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        // The first snapshot is the current one, then one per change.
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
        {
            if (snapshot.GetSiloStatus(silo) == SiloStatus.Dead)
            {
                return;
            }
        }
    }
}
