using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Cluster.Transport;

/// <summary>Settings of node-to-node grain calls, bound from the <c>Cluster</c> configuration section.</summary>
public sealed class ClusterTransportOptions
{
    public const string SectionName = "Cluster";

    /// <summary>The secret every node presents to every other node; the same value on all nodes of a cluster. Never logged.</summary>
    /// <value>None by default: required (at least <see cref="MinimumSecretLength"/> characters) once the transport is registered.</value>
    public string? Secret { get; set; }

    /// <summary>
    /// How long a caller waits for a remote call's answer; for a streamed call, for each next line of the stream (an item or a keep-alive,
    /// see <see cref="StreamKeepAliveInterval"/>), so a stream times out only when its target goes silent. A call that times out has an
    /// unknown outcome (it may have run) and is never resubmitted.
    /// </summary>
    /// <value>30 seconds by default, as in Orleans.</value>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a node serving a streamed call may stay silent before it writes a keep-alive line: while the grain's stream produces
    /// nothing (a long tool run, or the call queued behind other turns of the grain before it starts), the serving node writes
    /// <c>{"keepAlive":true}</c> after each such interval, and every line resets the caller's <see cref="CallTimeout"/>. A streamed call
    /// therefore times out only when the target goes silent (hung node, connection lost without a reset), however long the grain is
    /// quiet. The first keep-alive also commits the response: a call failing before its first item and before this interval is a plain
    /// error response, a later failure is reported in the stream. Must be shorter than <see cref="CallTimeout"/>, and since the serving
    /// node's interval has to beat the calling node's timeout, both settings should be the same on every node.
    /// </summary>
    /// <value>10 seconds by default.</value>
    public TimeSpan StreamKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long opening a connection to another node may take before the node counts as unavailable (the call was not sent).</summary>
    /// <value>5 seconds by default (Orleans' <c>OpenConnectionTimeout</c>).</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Shortest secret accepted.</summary>
    public const int MinimumSecretLength = 16;
}

/// <summary>How grain arguments, results and exceptions cross nodes; set in code by the host, not from configuration.</summary>
public sealed class GrainCallSerializationOptions
{
    /// <summary>
    /// Serializer for arguments, results and stream items (their types live in the grain assemblies, so this is reflection-based).
    /// Envelopes never use it. Both ends of a call must agree.
    /// </summary>
    /// <value><see cref="JsonSerializerDefaults.Web"/> (camelCase, case-insensitive) by default.</value>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Exception types, besides the runtime's own (<see cref="RemoteExceptions.BuiltInTypes"/>), that are rethrown on the caller as
    /// themselves; each needs a public constructor taking the message. Others arrive as <see cref="RemoteGrainException"/>.
    /// </summary>
    /// <value>Empty by default.</value>
    public IList<Type> ExceptionTypes { get; } = [];
}

/// <summary>Checks <see cref="ClusterTransportOptions"/>, reporting every bad setting at once by its configuration name.</summary>
internal sealed class ClusterTransportOptionsValidator : IValidateOptions<ClusterTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Secret))
        {
            errors.Add($"{Setting(nameof(ClusterTransportOptions.Secret))} is required when nodes call each other; set the same random value on every node.");
        }
        else if (options.Secret.Length < ClusterTransportOptions.MinimumSecretLength)
        {
            errors.Add($"{Setting(nameof(ClusterTransportOptions.Secret))} must be at least {ClusterTransportOptions.MinimumSecretLength} characters long.");
        }

        RequirePositive(errors, nameof(ClusterTransportOptions.CallTimeout), options.CallTimeout);
        RequirePositive(errors, nameof(ClusterTransportOptions.ConnectTimeout), options.ConnectTimeout);
        RequirePositive(errors, nameof(ClusterTransportOptions.StreamKeepAliveInterval), options.StreamKeepAliveInterval);
        if (options.CallTimeout > TimeSpan.Zero && options.StreamKeepAliveInterval > TimeSpan.Zero && options.StreamKeepAliveInterval >= options.CallTimeout)
        {
            errors.Add($"{Setting(nameof(ClusterTransportOptions.StreamKeepAliveInterval))} ('{options.StreamKeepAliveInterval}') must be shorter than " +
                $"{Setting(nameof(ClusterTransportOptions.CallTimeout))} ('{options.CallTimeout}'), or a quiet stream would time out between keep-alives.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string Setting(string name) => $"{ClusterTransportOptions.SectionName}:{name}";

    private static void RequirePositive(List<string> errors, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{Setting(setting)} must be a positive time span (e.g. 00:00:30), not '{value}'.");
        }
    }
}

/// <summary>Checks <see cref="GrainCallSerializationOptions"/>: every extra exception type must be constructible from its message.</summary>
internal sealed class GrainCallSerializationOptionsValidator : IValidateOptions<GrainCallSerializationOptions>
{
    public ValidateOptionsResult Validate(string? name, GrainCallSerializationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.ExceptionTypes
            .Where(t => !typeof(Exception).IsAssignableFrom(t) || t.IsAbstract || t.GetConstructor([typeof(string)]) is null)
            .Select(t => $"{nameof(GrainCallSerializationOptions)}.{nameof(GrainCallSerializationOptions.ExceptionTypes)}: {t.FullName} must be a non-abstract exception with a public constructor taking the message.")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
