using System.Text.Json.Serialization;

namespace OrleansCodex.Api.Health;

/// <summary>
/// <c>GET /health</c>: <c>ok</c> when every provider is available (and, in a cluster, this node serves: a silo that is an active
/// member, or a client that reaches the silos), else <c>degraded</c>. <see cref="Cluster"/> is present in <c>Cluster:Mode=Postgres</c>
/// only, <see cref="Workers"/> on a node that runs CLIs (not on a pure client). <see cref="Dashboard"/> is where the Orleans
/// dashboard is (admin key required).
/// </summary>
public sealed record HealthReport(
    string Status,
    IReadOnlyList<ProviderHealth> Providers,
    string Dashboard,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClusterHealth? Cluster = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WorkerHealth>? Workers = null);

/// <summary>This node's CLI workers of one provider, now.</summary>
/// <param name="Provider"><c>codex</c> or <c>claude</c>.</param>
/// <param name="Mode">How its turns run: <c>app-server</c> or <c>exec</c> (Codex), <c>stream</c> or <c>print</c> (Claude).</param>
/// <param name="Slots">Turns it runs at once (<c>Workers:Codex</c> / <c>Workers:Claude</c>).</param>
/// <param name="Busy">Slots running a turn.</param>
/// <param name="Queued">Turns waiting for a slot.</param>
/// <param name="WarmProcesses">Long-lived CLI processes: the Codex app-server (0 or 1), or Claude's per-session processes.</param>
/// <param name="Spares">Claude processes started ahead of any turn (<c>Workers:ClaudeSpares</c>), ready to be taken.</param>
public sealed record WorkerHealth(
    string Provider,
    string Mode,
    int Slots,
    int Busy,
    int Queued,
    int WarmProcesses,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Spares);

/// <summary>One CLI provider; <see cref="Message"/> tells the operator what to do when it is unavailable.</summary>
public sealed record ProviderHealth(string Name, bool Available, string? Version, string? Message);

/// <summary>This node in its cluster and the silos it sees (dead ones left out).</summary>
/// <param name="NodeId">This node's <c>Cluster:NodeId</c>.</param>
/// <param name="Role"><c>silo</c> or <c>client</c>.</param>
/// <param name="Serving">A silo that is an active member; a client that reaches the silos.</param>
/// <param name="Silo">A silo's Orleans address (<c>ip:port@generation</c>); null for a client.</param>
/// <param name="Members">Silos that are joining, active or shutting down.</param>
public sealed record ClusterHealth(string NodeId, string Role, bool Serving, string? Silo, IReadOnlyList<ClusterMemberHealth> Members);

/// <summary>One silo of the cluster.</summary>
/// <param name="Providers">The CLIs it serves (<c>Cluster:Providers</c>); null when not known.</param>
/// <param name="Load">Its CLI load: 0 idle, 1 every slot of some provider busy; null when not known.</param>
public sealed record ClusterMemberHealth(string NodeId, string Address, string Status, double? Load, string? Providers);
