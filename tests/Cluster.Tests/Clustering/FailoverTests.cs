using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>What happens to grains when their node crashes, stops, restarts or is declared dead.</summary>
[Collection(ClusteringCollection.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = ClusterHarness.Wait;

    private static readonly string _preferLocalType = GrainTypeRegistry.GetGrainTypeName(typeof(PreferLocalGrain));

    [Fact]
    public async Task OwnerCrashes_NextCallFromNode2_SucceedsOnSurvivorWithPersistedState_FasterThanHeartbeatDetection()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output, ClusterTimings.Fast);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2) = (nodes[0], nodes[1]);
        const string key = "crash";
        await IncrementTimesAsync(node1, key, 3);
        // Node 2 has called it too, so its directory cache points at node 1.
        Assert.Equal(4, await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        Assert.Equal("node-1", (await cluster.ReadDirectoryAsync()).Single().NodeId);
        var crashed = node1.Address!.Value;

        await node1.CrashAsync();
        var clock = Stopwatch.StartNew();
        var count = await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait);
        var failover = clock.Elapsed;

        Assert.Equal(5, count);
        var report = await node2.Grain<IPreferLocalGrain>(key).Report().WaitAsync(_wait);
        Assert.Contains(report.Node, new[] { "node-2", "node-3" });
        Assert.Equal(new Dictionary<string, int> { ["node-1"] = 4, [report.Node] = 1 }, report.CallsByNode);
        var bound = cluster.Timings.DeathTimeout + cluster.Timings.HeartbeatPeriod + TimeSpan.FromSeconds(1);
        cluster.Log($"FAILOVER (crash, caller waiting): {failover.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms); new owner {report.Node}; " +
            $"declared dead by {(cluster.Logs.Any(l => l.EventId == 1401) ? "the refused-connection detector" : "heartbeat timeout")}");
        Assert.True(failover < bound, $"failover took {failover}, more than {bound}");
        Assert.Equal("Dead", (await cluster.ReadMemberAsync(crashed))!.Status);
        var row = Assert.Single(await cluster.ReadDirectoryAsync());
        Assert.Equal(report.Node, row.NodeId);
    }

    [Fact]
    public async Task OwnerCrashes_ConcurrentCallsFromBothSurvivors_OneNewActivation_EveryCallCountedOnce()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output, ClusterTimings.Fast);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2, node3) = (nodes[0], nodes[1], nodes[2]);
        const string key = "crash-burst";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        await IncrementTimesAsync(node1, key, 3);
        Assert.Equal("node-1", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        Assert.Equal("node-1", await node3.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));

        await node1.CrashAsync();
        var clock = Stopwatch.StartNew();
        // Both survivors want the grain for themselves (prefer-local): the directory decides.
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? node2 : node3).Grain<IPreferLocalGrain>(key).Increment(1)))
            .WaitAsync(_wait);
        var failover = clock.Elapsed;

        Assert.Equal(Enumerable.Range(4, 20), results.Order());
        var activations = cluster.Probe.Events("activate", id);
        Assert.Equal(2, activations.Count);
        Assert.Equal("node-1", activations[0].Node);
        Assert.Contains(activations[1].Node, new[] { "node-2", "node-3" });
        Assert.Equal(1, cluster.Probe.MaxConcurrency(id));
        cluster.Log($"FAILOVER (crash, 20 concurrent calls from two survivors): all answered after {failover.TotalMilliseconds:F0} ms; new owner {activations[1].Node}");
        Assert.True(failover < cluster.Timings.DeathTimeout + cluster.Timings.HeartbeatPeriod + TimeSpan.FromSeconds(1), $"failover took {failover}");
    }

    /// <summary>
    /// A caller's directory cache may still name the node a grain was deactivated on after another node activated it. The call
    /// reaches the old node, which finds the grain registered elsewhere (duplicate activation: no grain code ran); the caller must
    /// then look the grain up again instead of retrying its stale entry until it gives up.
    /// </summary>
    [Fact]
    public async Task GrainReactivatedOnAnotherNode_CallerWithCachedEntryToOldNode_ReachesNewActivation()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2, node3) = (nodes[0], nodes[1], nodes[2]);
        const string key = "moved";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        await IncrementTimesAsync(node1, key, 1);
        Assert.Equal("node-1", await node3.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));

        await node1.Grain<IPreferLocalGrain>(key).Deactivate().WaitAsync(_wait);
        await ClusterHarness.UntilAsync(async () => (await cluster.ReadDirectoryAsync()).Count == 0, "the deactivated grain is unregistered");
        Assert.Equal(2, await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        Assert.Equal("node-2", (await cluster.ReadDirectoryAsync()).Single().NodeId);

        // Node 3 still has node 1 cached for the grain.
        Assert.Equal(3, await node3.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        Assert.Equal("node-2", await node3.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        Assert.Equal(["node-1", "node-2"], cluster.Probe.Events("activate", id).Select(a => a.Node));
    }

    [Fact]
    public async Task OwnerCrashes_NobodyCalls_HeartbeatTimeoutDeclaresItDead_ThenItsGrainIsPlacedAgain()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output, ClusterTimings.Fast);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2");
        var (node1, node2) = (nodes[0], nodes[1]);
        const string key = "silent-crash";
        await IncrementTimesAsync(node1, key, 2);
        var crashed = node1.Address!.Value;

        await node1.CrashAsync();
        var clock = Stopwatch.StartNew();
        await ClusterHarness.UntilAsync(async () => (await cluster.ReadMemberAsync(crashed))?.Status == "Dead", $"{crashed} is declared dead");
        var detection = clock.Elapsed;
        var bound = cluster.Timings.DeathTimeout + cluster.Timings.HeartbeatPeriod + TimeSpan.FromSeconds(1);
        cluster.Log($"FAILOVER (crash, heartbeat detection only): declared dead after {detection.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms)");
        Assert.True(detection < bound, $"detection took {detection}, more than {bound}");
        Assert.DoesNotContain(cluster.Logs, l => l.EventId == 1401);

        clock.Restart();
        Assert.Equal(3, await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        cluster.Log($"next call after the death was declared: {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal("node-2", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
    }

    [Fact]
    public async Task GracefulStop_ShuttingDownThenDead_GrainDeactivated_DirectoryCleared_CallsGoElsewhereWithoutDeathTimeout()
    {
        // A long death timeout: anything that waited for it would fail the time assertions below.
        await using var cluster = await ClusterHarness.CreateAsync(output, new ClusterTimings(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(6)));
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2, node3) = (nodes[0], nodes[1], nodes[2]);
        const string key = "graceful";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        await IncrementTimesAsync(node1, key, 2);
        Assert.Equal("node-1", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var leaving = node1.Address!.Value;

        cluster.Probe.HoldDeactivation(id);
        var stop = node1.StopAsync();
        await ClusterHarness.UntilAsync(async () => (await cluster.ReadMemberAsync(leaving))?.Status == "ShuttingDown", "node 1 is ShuttingDown");
        await cluster.Probe.WhenRecorded("deactivating", id, _wait);
        Assert.Equal("ShuttingDown", cluster.Probe.Events("deactivating", id).Single().Detail);

        // A call arriving while the grain deactivates is held (the old activation may still write) and then goes to the next one.
        var during = node2.Grain<IPreferLocalGrain>(key).Increment(0);
        await Task.Delay(300);
        Assert.False(during.IsCompleted, $"a call completed ({during.Status}, {during.Exception?.InnerException?.Message}) while the old activation was still deactivating");

        cluster.Probe.ReleaseDeactivation(id);
        await stop.WaitAsync(_wait);
        Assert.Equal(3, await during.WaitAsync(_wait));

        Assert.Equal("Dead", (await cluster.ReadMemberAsync(leaving))!.Status);
        var deactivated = Assert.Single(cluster.Probe.Events("deactivated", id));
        Assert.Equal(("node-1", "ShuttingDown"), (deactivated.Node, deactivated.Detail));
        var row = Assert.Single(await cluster.ReadDirectoryAsync());
        Assert.NotEqual("node-1", row.NodeId);

        var clock = Stopwatch.StartNew();
        Assert.Equal(4, await node3.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        var next = clock.Elapsed;
        cluster.Log($"after graceful stop the next call took {next.TotalMilliseconds:F0} ms on {row.NodeId}");
        Assert.True(next < TimeSpan.FromSeconds(2), $"the call after a graceful stop took {next}");
        Assert.Equal(row.NodeId, await node3.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        Assert.Equal(2, cluster.Probe.Count("activate", id));
    }

    [Fact]
    public async Task GracefulStop_WithoutCallsInFlight_NextCallFromCachingNodeActivatesElsewhereAtOnce()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output, new ClusterTimings(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(6)));
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2) = (nodes[0], nodes[1]);
        const string key = "graceful-idle";
        var id = ClusterProbeIds.Of<PreferLocalGrain>(key);
        await IncrementTimesAsync(node1, key, 2);
        Assert.Equal("node-1", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var leaving = node1.Address!.Value;

        await node1.StopAsync();
        Assert.Equal("Dead", (await cluster.ReadMemberAsync(leaving))!.Status);
        Assert.Equal("ShuttingDown", Assert.Single(cluster.Probe.Events("deactivated", id)).Detail);
        Assert.Empty(await cluster.ReadDirectoryAsync());

        var clock = Stopwatch.StartNew();
        Assert.Equal(3, await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        var next = clock.Elapsed;
        cluster.Log($"after graceful stop (idle) the next call took {next.TotalMilliseconds:F0} ms");
        Assert.True(next < TimeSpan.FromSeconds(2), $"the call after a graceful stop took {next}");
        Assert.Equal("node-2", Assert.Single(await cluster.ReadDirectoryAsync()).NodeId);
    }

    [Fact]
    public async Task OwnerRestartsOnSamePort_CallerWithCachedEntryToOldIncarnation_Gets410AndTransparentlyReroutes()
    {
        // Membership is read every 30 s only: node 2 keeps its cached directory entry and its view of the old incarnation.
        await using var cluster = await ClusterHarness.CreateAsync(output, ClusterTimings.Slow);
        // One after the other: node 2 reads node 1 when it joins (nobody reads membership again during this test).
        var node1 = await cluster.StartSiloAsync("node-1");
        var node2 = await cluster.StartSiloAsync("node-2");
        const string key = "restart";
        await IncrementTimesAsync(node1, key, 2);
        Assert.Equal("node-1", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var old = node1.Address!.Value;

        await node1.CrashAsync();
        var restarted = await cluster.StartSiloAsync("node-1", port: node1.Port);
        var current = restarted.Address!.Value;
        Assert.True(current.Incarnation > old.Incarnation);
        Assert.Equal("Dead", (await cluster.ReadMemberAsync(old))!.Status);
        var view = node2.Membership.Snapshot!;
        Assert.True(view.IsLive(old), "node 2's membership view was refreshed already; the test needs it stale");
        Assert.Null(view.Find(current));

        var count = await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait);

        Assert.Equal(3, count);
        // The call went to the old incarnation's endpoint, where the new process refused it with 410, and was routed again.
        Assert.Contains(cluster.Logs, l => l.Node == "node-1" && l.EventId == 1301 && l.Message.Contains(old.ToString(), StringComparison.Ordinal));
        Assert.Contains(cluster.Logs, l => l.Node == "node-2" && l.EventId == 1400 && l.Message.Contains(old.ToString(), StringComparison.Ordinal));
        var report = await node2.Grain<IPreferLocalGrain>(key).Report().WaitAsync(_wait);
        Assert.Equal(3, report.Count);
        var row = Assert.Single(await cluster.ReadDirectoryAsync());
        Assert.Equal(report.Node, row.NodeId);
        Assert.NotEqual(old.Incarnation, row.Incarnation);
        cluster.Log($"after the restart the grain runs on {report.Node}");
    }

    [Fact]
    public async Task NodeDeclaredDeadInTable_StopsServingWithinTwoHeartbeats_ItsGrainsGoElsewhere()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        var nodes = await cluster.StartSilosAsync("node-1", "node-2", "node-3");
        var (node1, node2) = (nodes[0], nodes[1]);
        const string key = "doomed";
        await IncrementTimesAsync(node1, key, 2);
        Assert.Equal("node-1", await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
        var doomed = node1.Address!.Value;

        var table = node2.Services.GetRequiredService<IMembershipTable>();
        var declared = false;
        for (var attempt = 0; attempt < 10 && !declared; attempt++)
        {
            var snapshot = await table.ReadAllAsync();
            declared = await table.DeclareDeadAsync(doomed, TimeSpan.Zero, snapshot.Version);
        }

        Assert.True(declared);
        var clock = Stopwatch.StartNew();
        await node1.Stopping.WaitAsync(_wait);
        var noticed = clock.Elapsed;
        cluster.Log($"declared-dead node stopped serving after {noticed.TotalMilliseconds:F0} ms");
        Assert.True(noticed <= 2 * cluster.Timings.HeartbeatPeriod + TimeSpan.FromSeconds(1), $"the node noticed its death after {noticed}");
        Assert.Null(node1.Address);

        // A call addressed to the dead incarnation is refused: 410 while the host stops, no answer at all once its server stops.
        var status = await PostToAsync(node1, doomed);
        Assert.True(status is HttpStatusCode.Gone or null, $"a call to the dead incarnation got {status}");

        Assert.Equal(3, await node2.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        Assert.Contains(await node2.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait), new[] { "node-2", "node-3" });
        await node1.Stopped.WaitAsync(_wait);
        Assert.Equal("Dead", (await cluster.ReadMemberAsync(doomed))!.Status);
    }

    private static async Task IncrementTimesAsync(ClusterTestNode node, string key, int times)
    {
        for (var i = 1; i <= times; i++)
        {
            Assert.Equal(i, await node.Grain<IPreferLocalGrain>(key).Increment(0).WaitAsync(_wait));
        }

        Assert.Equal(node.NodeId, await node.Grain<IPreferLocalGrain>(key).WhereAmI().WaitAsync(_wait));
    }

    /// <summary>Posts a (well-formed, authenticated) call addressed to <paramref name="target"/>; null when no HTTP answer came (refused or closed).</summary>
    private static async Task<HttpStatusCode?> PostToAsync(ClusterTestNode node, NodeAddress target)
    {
        using var client = new HttpClient { Timeout = _wait };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node.Endpoint, "/_cluster/v1/calls"))
        {
            Content = new StringContent(
                $$"""{"grainType":"{{_preferLocalType}}","grainKey":"doomed","interface":"{{typeof(IClusteringTestGrain).FullName}}","method":"WhereAmI()","arguments":[]}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Cluster-Secret", ClusterHarness.Secret);
        request.Headers.Add("X-Cluster-Target-Node", target.NodeId);
        request.Headers.Add("X-Cluster-Target-Incarnation", target.Incarnation.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // Refused, or accepted by a server that is stopping and closed without an answer.
            return null;
        }
    }
}
