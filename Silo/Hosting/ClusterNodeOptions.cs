using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Silo.Hosting;

/// <summary>How a process finds the other nodes of its cluster.</summary>
public enum ClusterMode
{
    /// <summary>One silo, localhost clustering: the process is the whole cluster (SQLite or PostgreSQL storage).</summary>
    Local,

    /// <summary>Orleans' ADO.NET clustering and grain state on the shared PostgreSQL database (<c>ConnectionStrings:Postgres</c>).</summary>
    Postgres,
}

/// <summary>
/// This node's place in the cluster, bound from the <c>Cluster</c> section and turned into Orleans' own options (cluster id, silo
/// name and endpoints, membership, messaging, activation collection). Settings of the runtime we had before Orleans that mean
/// nothing now (<see cref="RetiredSettings"/>) are ignored with a warning.
/// </summary>
public sealed class ClusterNodeOptions
{
    public const string SectionName = "Cluster";

    /// <summary>Orleans' service id, part of every grain-state key: fixed, so that state survives any change of settings.</summary>
    public const string ServiceId = "orleanscodex";

    /// <summary>Settings of the runtime we used before Orleans, accepted and ignored with a warning.</summary>
    public static readonly IReadOnlyList<string> RetiredSettings =
    [
        "Secret", "AdvertisedUrl", "HeartbeatPeriod", "DeathTimeout", "StreamKeepAliveInterval", "ConnectTimeout", "DirectoryCacheSize",
        "DefunctEntryExpiration",
    ];

    /// <summary><c>Local</c> (single node) or <c>Postgres</c> (a cluster sharing <c>ConnectionStrings:Postgres</c>); see <see cref="ClusterMode"/>.</summary>
    /// <value><c>Local</c> by default.</value>
    public string Mode { get; set; } = nameof(ClusterMode.Local);

    /// <summary>Orleans' cluster id: nodes with the same id and database form one cluster.</summary>
    /// <value><c>orleanscodex</c> by default.</value>
    public string ClusterId { get; set; } = "orleanscodex";

    /// <summary>
    /// This node's name (Orleans' silo name). A conversation resumes its CLI session only on the node of that name, where the session
    /// files are: set it in a cluster, and keep it across restarts.
    /// </summary>
    /// <value>
    /// By default the machine name for a single node (so a restarted service resumes its sessions), and the machine name and
    /// process id in a cluster (several silos may share a host), e.g. <c>web-1-4242</c>.
    /// </value>
    public string? NodeId { get; set; }

    /// <summary>The port silos talk to each other on.</summary>
    /// <value>A free loopback port chosen at start for a single node (a second instance never clashes); 11111 in a cluster.</value>
    public int? SiloPort { get; set; }

    /// <summary>The port pure clients (<c>Api:CoHostSilo=false</c>) connect to; 0 for none.</summary>
    /// <value>0 (no gateway) for a single node, which has no clients; 30000 in a cluster.</value>
    public int? GatewayPort { get; set; }

    /// <summary>
    /// The address other nodes reach this silo at, and the one it listens on: an IP address, or a host name resolved once at start.
    /// </summary>
    /// <value>127.0.0.1 by default, which works for every node on one host; set it for nodes on several hosts.</value>
    public string? AdvertisedAddress { get; set; }

    /// <summary>How long a grain call waits for an answer (Orleans' <c>ResponseTimeout</c>, the same on silos and clients). Streams
    /// stay alive while silent: a long CLI turn is never cut by it.</summary>
    /// <value>10 seconds by default.</value>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle grains are deactivated after this (Orleans' <c>CollectionAge</c>).</summary>
    /// <value>15 minutes by default.</value>
    public TimeSpan IdleDeactivationAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle grains are looked for (Orleans' <c>CollectionQuantum</c>).</summary>
    /// <value>1 minute by default.</value>
    public TimeSpan CollectionScanPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a graceful stop waits for each grain to finish its turn and deactivate (Orleans' <c>DeactivationTimeout</c>).</summary>
    /// <value>30 seconds by default.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A pure client reads the membership table this often, to fail streams from a silo declared dead at once.</summary>
    /// <value>500 milliseconds by default.</value>
    public TimeSpan MembershipPollPeriod { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Mutual TLS between silos and clients (<c>Cluster:Tls:*</c>); off unless a certificate is given.</summary>
    public ClusterTlsOptions Tls { get; set; } = new();

    /// <summary>The parsed mode, or null when <see cref="Mode"/> is not a known one.</summary>
    public ClusterMode? ParsedMode => Enum.TryParse<ClusterMode>(Mode, ignoreCase: true, out var mode) && Enum.IsDefined(mode) ? mode : null;

    /// <summary>Fills the node id and ports left unset with their defaults (see <see cref="NodeId"/>, <see cref="SiloPort"/>, <see cref="GatewayPort"/>); once, at start.</summary>
    internal void ApplyDefaults()
    {
        var cluster = ParsedMode == ClusterMode.Postgres;
        NodeId ??= cluster ? $"{Environment.MachineName}-{Environment.ProcessId}" : Environment.MachineName;
        SiloPort ??= cluster ? 11111 : FreeLoopbackPort();
        GatewayPort ??= cluster ? 30000 : 0;
    }

    /// <summary>The advertised (and listening) IP address; throws when a host name does not resolve.</summary>
    public IPAddress EffectiveAdvertisedAddress()
    {
        if (string.IsNullOrWhiteSpace(AdvertisedAddress))
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(AdvertisedAddress, out var address))
        {
            return address;
        }

        return Dns.GetHostAddresses(AdvertisedAddress).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).First();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Mutual TLS on silo-to-silo and client-to-gateway connections (Microsoft.Orleans.Connections.Security).</summary>
public sealed class ClusterTlsOptions
{
    /// <summary>A PFX/PKCS#12 file holding this node's certificate and private key. Set: every connection is TLS, both ends present a certificate.</summary>
    /// <value>Unset by default: the cluster's TCP traffic is neither encrypted nor authenticated; keep it on a trusted network.</value>
    public string? CertificatePath { get; set; }

    /// <summary>The PFX file's password. Never logged.</summary>
    /// <value>None by default.</value>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// A PEM or DER file with the certificate authority whose certificates peers must present. Unset: peers must present the very
    /// certificate this node has (one certificate shared by every node).
    /// </summary>
    /// <value>Unset by default.</value>
    public string? CaCertificatePath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>Checks <see cref="ClusterNodeOptions"/>, reporting every bad setting at once by its configuration name.</summary>
/// <param name="hostsGrains">A silo (true) or a pure client (false).</param>
internal sealed class ClusterNodeOptionsValidator(bool hostsGrains) : IValidateOptions<ClusterNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterNodeOptions options)
    {
        var errors = new List<string>();
        const string Section = ClusterNodeOptions.SectionName;
        switch (options.ParsedMode)
        {
            case null:
                errors.Add($"{Section}:Mode must be {nameof(ClusterMode.Local)} or {nameof(ClusterMode.Postgres)}, not '{options.Mode}'.");
                break;
            case ClusterMode.Local when !hostsGrains:
                errors.Add($"A pure cluster client (Api:CoHostSilo=false) needs {Section}:Mode = {nameof(ClusterMode.Postgres)} (and ConnectionStrings:Postgres) to find the silos.");
                break;
        }

        if (options.NodeId is not null && string.IsNullOrWhiteSpace(options.NodeId))
        {
            errors.Add($"{Section}:NodeId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            errors.Add($"{Section}:ClusterId must not be empty.");
        }

        if (options.SiloPort is < 1 or > 65535)
        {
            errors.Add($"{Section}:SiloPort must be a port from 1 to 65535, not {options.SiloPort}.");
        }

        if (options.GatewayPort is < 0 or > 65535)
        {
            errors.Add($"{Section}:GatewayPort must be a port from 1 to 65535 (0 for no gateway), not {options.GatewayPort}.");
        }

        if (options.SiloPort is { } silo && silo == options.GatewayPort)
        {
            errors.Add($"{Section}:SiloPort and {Section}:GatewayPort must differ (both are {silo}).");
        }

        if (!string.IsNullOrWhiteSpace(options.AdvertisedAddress))
        {
            try
            {
                var address = options.EffectiveAdvertisedAddress();
                if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
                {
                    errors.Add($"{Section}:AdvertisedAddress must be an address other nodes can reach, not '{options.AdvertisedAddress}'.");
                }
            }
            catch (Exception e) when (e is SocketException or ArgumentException or InvalidOperationException)
            {
                errors.Add($"{Section}:AdvertisedAddress '{options.AdvertisedAddress}' is neither an IP address nor a host name that resolves: {e.Message}");
            }
        }

        RequirePositive(errors, nameof(ClusterNodeOptions.CallTimeout), options.CallTimeout);
        RequirePositive(errors, nameof(ClusterNodeOptions.IdleDeactivationAge), options.IdleDeactivationAge);
        RequirePositive(errors, nameof(ClusterNodeOptions.CollectionScanPeriod), options.CollectionScanPeriod);
        RequirePositive(errors, nameof(ClusterNodeOptions.ShutdownTimeout), options.ShutdownTimeout);
        RequirePositive(errors, nameof(ClusterNodeOptions.MembershipPollPeriod), options.MembershipPollPeriod);

        if (options.Tls.Enabled)
        {
            if (!File.Exists(options.Tls.CertificatePath))
            {
                errors.Add($"{Section}:Tls:CertificatePath '{options.Tls.CertificatePath}' does not exist.");
            }

            if (options.Tls.CaCertificatePath is { Length: > 0 } ca && !File.Exists(ca))
            {
                errors.Add($"{Section}:Tls:CaCertificatePath '{ca}' does not exist.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequirePositive(List<string> errors, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{ClusterNodeOptions.SectionName}:{setting} must be a positive time span (e.g. 00:00:10), not '{value}'.");
        }
    }
}
