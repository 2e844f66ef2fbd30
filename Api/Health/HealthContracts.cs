using System.Text.Json.Serialization;

namespace OrleansCodex.Api.Health;

/// <summary>
/// <c>GET /health</c>: <c>ok</c> when every provider is available (and, in a cluster, a silo serves as a member), else
/// <c>degraded</c>. <see cref="Cluster"/> is present in <c>Cluster:Mode=Postgres</c> only, <see cref="Workers"/> on a node that
/// runs CLIs (not on a pure client).
/// </summary>
public sealed record HealthReport(
    string Status,
    IReadOnlyList<ProviderHealth> Providers,
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

/// <summary>This node in its cluster and the members it sees (dead incarnations left out).</summary>
/// <param name="NodeId">This node's <c>Cluster:NodeId</c>.</param>
/// <param name="Role"><c>silo</c> or <c>client</c>.</param>
/// <param name="Serving">A silo that joined and was not declared dead; always false for a client.</param>
/// <param name="Incarnation">The incarnation a serving silo runs as.</param>
/// <param name="Members">Live members: joining, active or shutting down.</param>
public sealed record ClusterHealth(string NodeId, string Role, bool Serving, long? Incarnation, IReadOnlyList<ClusterMemberHealth> Members);

/// <summary>One live member as the membership table shows it.</summary>
public sealed record ClusterMemberHealth(string NodeId, long Incarnation, string Status, string Endpoint, double Load, string? Providers);
