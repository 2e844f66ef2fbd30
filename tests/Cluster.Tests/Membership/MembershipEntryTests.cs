using OrleansCodex.Cluster.Membership;
using Xunit;

namespace OrleansCodex.Cluster.Tests.Membership;

/// <summary>The membership row and snapshot types themselves: metadata that is never null, value equality, the placement helpers.</summary>
public sealed class MembershipEntryTests
{
    private static readonly DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static MembershipEntry Entry(string nodeId, NodeStatus status = NodeStatus.Active) =>
        new(new NodeAddress(nodeId, 1), $"http://{nodeId}:5000", $"host-{nodeId}", status) { StartTime = _now, LastHeartbeat = _now, ETag = 3 };

    [Fact]
    public void Metadata_NotSet_IsEmptyAndLoadIsZero()
    {
        var entry = Entry("a");

        Assert.NotNull(entry.Metadata);
        Assert.Empty(entry.Metadata);
        Assert.Equal(0, entry.Load);
    }

    [Fact]
    public void Metadata_SetToNull_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => Entry("a") with { Metadata = null! });
    }

    [Fact]
    public void Metadata_CallerChangesDictionaryAfterwards_EntryKeepsWhatItWasGiven()
    {
        var metadata = new Dictionary<string, string> { ["providers"] = "codex" };

        var entry = Entry("a") with { Metadata = metadata };
        metadata["providers"] = "claude";
        metadata["zone"] = "eu";

        Assert.Equal(new Dictionary<string, string> { ["providers"] = "codex" }, entry.Metadata);
    }

    [Fact]
    public void Equals_EqualMetadataInDifferentDictionaries_EntriesAreEqualWithEqualHashes()
    {
        var left = Entry("a") with { Metadata = new Dictionary<string, string> { ["providers"] = "codex,claude", ["zone"] = "eu" }, Load = 0.5 };
        var right = Entry("a") with { Metadata = new Dictionary<string, string> { ["zone"] = "eu", ["providers"] = "codex,claude" }, Load = 0.5 };

        Assert.Equal(left, right);
        Assert.True(left == right);
        Assert.Equal(left.GetHashCode(), right.GetHashCode());
        Assert.Equal(Entry("a"), Entry("a") with { Metadata = new Dictionary<string, string>() });
    }

    [Fact]
    public void Equals_AnyFieldDiffers_EntriesAreNotEqual()
    {
        var entry = Entry("a") with { Metadata = new Dictionary<string, string> { ["providers"] = "codex" }, Load = 0.5 };

        Assert.NotEqual(entry, entry with { Metadata = new Dictionary<string, string> { ["providers"] = "claude" } });
        Assert.NotEqual(entry, entry with { Metadata = new Dictionary<string, string> { ["Providers"] = "codex" } });
        Assert.NotEqual(entry, entry with { Metadata = new Dictionary<string, string>() });
        Assert.NotEqual(entry, entry with { Load = 0.75 });
        Assert.NotEqual(entry, entry with { ETag = 4 });
        Assert.NotEqual(entry, entry with { Status = NodeStatus.Dead });
        Assert.NotEqual(entry, entry with { LastHeartbeat = _now.AddSeconds(1) });
        Assert.False(entry.Equals(null));
    }

    [Fact]
    public void ActiveMembers_EveryStatus_ReturnsOnlyActiveInTableOrder()
    {
        var snapshot = new MembershipSnapshot(7, _now,
        [
            Entry("a", NodeStatus.Active),
            Entry("b", NodeStatus.Joining),
            Entry("c", NodeStatus.Active),
            Entry("d", NodeStatus.ShuttingDown),
            Entry("e", NodeStatus.Dead),
        ]);

        Assert.Equal(["a", "c"], snapshot.ActiveMembers.Select(m => m.Address.NodeId));
        Assert.True(snapshot.IsLive(new NodeAddress("d", 1)));
        Assert.False(snapshot.IsLive(new NodeAddress("e", 1)));
        Assert.False(snapshot.IsLive(new NodeAddress("z", 1)));
        Assert.Equal("b", snapshot.Find(new NodeAddress("b", 1))!.Address.NodeId);
        Assert.Null(snapshot.Find(new NodeAddress("b", 2)));
    }
}
