namespace OrleansCodex.Cluster.Membership;

/// <summary>
/// The cluster's membership table (Orleans' <c>IMembershipTable</c>): one row per node incarnation plus a table version.
/// Every membership change is a compare-and-swap on that version, so of concurrent writers that read the same version exactly
/// one succeeds and the others get <c>false</c> (re-read and decide again). Heartbeats are the exception: they never bump the
/// version (nodes poll it to notice changes) and they are stamped with the table's clock, never the caller's.
/// </summary>
public interface IMembershipTable
{
    /// <summary>Reads every row of the cluster and the table version, atomically, with the database clock of that read.</summary>
    Task<MembershipSnapshot> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a row (start time and heartbeat = the database's now, with the entry's <see cref="MembershipEntry.Metadata"/> and
    /// <see cref="MembershipEntry.Load"/>) and bumps the version, if the version is still <paramref name="expectedVersion"/> and
    /// the incarnation has no row yet; otherwise changes nothing and returns false.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The entry's load is negative or not finite.</exception>
    Task<bool> InsertRowAsync(MembershipEntry entry, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the row's status, endpoint, host name and metadata, bumping its ETag and the version, if the version is still
    /// <paramref name="expectedVersion"/>, the row's ETag is still <paramref name="expectedETag"/> and it is not dead;
    /// otherwise changes nothing and returns false. The row's load is kept (only heartbeats change it).
    /// </summary>
    Task<bool> UpdateRowAsync(MembershipEntry entry, long expectedETag, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the row's heartbeat to the database's now and its <see cref="MembershipEntry.Load"/> to <paramref name="load"/>.
    /// Changes neither the version nor the ETag, so readers see new loads without a membership change being announced.
    /// Returns false when the row is missing or dead: the caller has been declared dead and must stop serving.
    /// </summary>
    /// <param name="address">The heartbeating incarnation.</param>
    /// <param name="load">Its current load: 0 idle, 1 saturated, above 1 overloaded.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="load"/> is negative or not finite.</exception>
    Task<bool> UpdateHeartbeatAsync(NodeAddress address, double load, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks the row dead and bumps the version, if the version is still <paramref name="expectedVersion"/>, the row is not dead
    /// yet and its heartbeat is at least <paramref name="minHeartbeatAge"/> old by the database clock (so a node that heartbeat
    /// since the caller's read is not killed; <see cref="TimeSpan.Zero"/> declares it dead regardless). Returns false otherwise.
    /// </summary>
    Task<bool> DeclareDeadAsync(NodeAddress address, TimeSpan minHeartbeatAge, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes rows that are not <see cref="NodeStatus.Active"/> and have not heartbeat for <paramref name="olderThan"/> (database
    /// clock): dead incarnations, and joins or shutdowns that never finished. Returns how many were deleted. Does not bump the
    /// version; a missing row means dead to every reader.
    /// </summary>
    Task<int> CleanupDefunctEntriesAsync(TimeSpan olderThan, CancellationToken cancellationToken = default);
}
