using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService;
using OrleansCodex.Silo.Hosting;

namespace OrleansCodex.Silo.Membership;

/// <summary>
/// A pure client's view of membership: Orleans' ADO.NET membership table read every <see cref="ClusterNodeOptions.MembershipPollPeriod"/>
/// with Orleans' own reader (<see cref="AdoNetClusteringTable"/>). Orleans' client notices a dead silo only when a call to it times
/// out; this notices it within one poll of the silos declaring it dead.
/// </summary>
internal sealed partial class MembershipTableView(
    IServiceProvider services,
    IOptions<ClusterOptions> cluster,
    IOptions<AdoNetClusteringClientOptions> clustering,
    IOptions<ClusterNodeOptions> node,
    TimeProvider timeProvider,
    ILogger<MembershipTableView> logger) : BackgroundService, IClusterMembershipView
{
    private volatile IReadOnlyDictionary<SiloAddress, KnownSilo> _members = new Dictionary<SiloAddress, KnownSilo>();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<KnownSilo> Members => _members.Values.Where(m => m.Status != nameof(SiloStatus.Dead)).ToList();

    public async Task WhenDeadAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (_members.TryGetValue(silo, out var member) && member.Status == nameof(SiloStatus.Dead))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IMembershipTable table = new AdoNetClusteringTable(services, cluster,
            Options.Create(new AdoNetClusteringSiloOptions
            {
                Invariant = clustering.Value.Invariant,
                ConnectionString = clustering.Value.ConnectionString,
                DataSource = clustering.Value.DataSource,
            }),
            services.GetRequiredService<ILogger<AdoNetClusteringTable>>());
        var initialized = false;
        using var timer = new PeriodicTimer(node.Value.MembershipPollPeriod, timeProvider);
        do
        {
            try
            {
                if (!initialized)
                {
                    await table.InitializeMembershipTableAsync(tryInitTableVersion: false, stoppingToken);
                    initialized = true;
                }

                var data = await table.ReadAllAsync(stoppingToken);
                _members = data.Members.ToDictionary(
                    row => row.Item1.SiloAddress,
                    row => new KnownSilo(row.Item1.SiloAddress, row.Item1.SiloName, row.Item1.Status.ToString()));
                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReadFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Could not read the cluster's membership table: {Reason}")]
    private partial void LogReadFailed(string reason);
}
