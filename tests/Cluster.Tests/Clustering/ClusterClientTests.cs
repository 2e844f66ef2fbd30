using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Cluster.Membership;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Cluster.Tests.Clustering;

/// <summary>A pure client (<c>AddClusterClient</c>): calls grains on the silos, hosts none, and is no member of the cluster.</summary>
[Collection(ClusteringCollection.Name)]
public sealed class ClusterClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = ClusterHarness.Wait;

    [Fact]
    public async Task PureClient_CallsGrainsThatActivateOnSilos_NeverJoinsMembership()
    {
        await using var cluster = await ClusterHarness.CreateAsync(output);
        await cluster.StartSilosAsync("silo-1", "silo-2");
        var client = await cluster.StartClientAsync("client-1");
        var silos = new[] { "silo-1", "silo-2" };

        Assert.Equal(1, await client.Grain<IRandomPlacedGrain>("from-client").Increment(0).WaitAsync(_wait));
        Assert.Equal(2, await client.Grain<IRandomPlacedGrain>("from-client").Increment(0).WaitAsync(_wait));
        var report = await client.Grain<IRandomPlacedGrain>("from-client").Report().WaitAsync(_wait);
        Assert.Contains(report.Node, silos);
        Assert.Equal(2, report.Count);
        Assert.Equal(report.Node, Assert.Single(await cluster.ReadDirectoryAsync()).NodeId);

        // Prefer-local has no local node to prefer: some silo takes it.
        Assert.Contains(await client.Grain<IPreferLocalGrain>("prefer").WhereAmI().WaitAsync(_wait), silos);

        // A grain that must run on the calling node cannot run on a client.
        var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => client.Grain<INodeLocalGrain>("here").WhereAmI().WaitAsync(_wait));
        Assert.Contains("hosts no grains", error.Message);

        // Not a member: no row, no agent, no incarnation, no call endpoint.
        Assert.Equal(silos, (await cluster.ReadMembersAsync()).Select(m => m.NodeId).Order());
        Assert.Null(client.Services.GetService<MembershipAgent>());
        Assert.Null(client.Address);
        Assert.DoesNotContain(cluster.Probe.Events("activate", ClusterProbeIds.Of<RandomPlacedGrain>("from-client")), a => a.Node == "client-1");
        using var http = new HttpClient { Timeout = _wait };
        using var response = await http.PostAsync(new Uri(client.Endpoint, "/_cluster/v1/calls"), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
