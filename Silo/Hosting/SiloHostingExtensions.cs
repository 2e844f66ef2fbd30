using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using OrleansCodex.Grains;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Storage;
using OrleansCodex.Silo.Membership;
using Serilog;

namespace OrleansCodex.Silo.Hosting;

/// <summary>Wires an Orleans silo (clustering, grain state, grains, CLI providers, dashboard), or a pure client of one, into an application.</summary>
public static class SiloHostingExtensions
{
    /// <summary>The invariant Orleans' ADO.NET providers know SQLite by; in 10.4.2 it loads Microsoft.Data.Sqlite's factory.</summary>
    private const string SqliteInvariant = "System.Data.SQLite";

    private const string PostgresInvariant = "Npgsql";

    /// <summary>
    /// Adds the silo. <c>Cluster:Mode</c> = <c>Local</c> (default): localhost clustering, grain state on the database of
    /// <c>Storage:Provider</c> (SQLite by default). <c>Postgres</c>: ADO.NET clustering and grain state on <c>ConnectionStrings:Postgres</c>,
    /// with the settings that declare a dead silo within about two seconds. Our migrations, Orleans' SQL scripts included, run
    /// before the silo starts.
    /// </summary>
    public static IHostApplicationBuilder AddOrleansCodexSilo(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        configuration.AddLegacyEnvironmentAliases();
        var mode = ModeOf(configuration);
        var services = builder.Services;
        AddNodeOptions(services, configuration, hostsGrains: true);
        services.AddOrleansCodexStorage(configuration, postgresByDefault: mode == ClusterMode.Postgres);
        services.AddMigrations(typeof(SiloHostingExtensions).Assembly, "OrleansCodex.Silo.Storage.Sql");
        services.AddSingleton<IFatalErrorHandler, StopCliProcessesFatalErrorHandler>();
        services.TryAddSingleton<IClusterMembershipView, SiloMembershipView>();

        builder.UseOrleans(silo =>
        {
            var metadata = configuration.GetSection($"{ClusterNodeOptions.SectionName}:Metadata").Get<Dictionary<string, string>>() ?? [];
            metadata[ModelRouting.ProvidersMetadataKey] = ServedProviders.Parse(configuration[ServedProviders.SettingName]).Setting;
            silo.UseSiloMetadata(metadata);
            silo.AddConversationGrains(configuration);
            silo.AddDashboard();

            // Clustering: without a membership provider here; it is added below per mode.
            services.AddOptions<SiloOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) => o.SiloName = node.Value.NodeId!);
            services.AddOptions<Orleans.Configuration.ClusterOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) =>
            {
                o.ClusterId = node.Value.ClusterId;
                o.ServiceId = ClusterNodeOptions.ServiceId;
            });
            services.AddOptions<EndpointOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) =>
            {
                var address = node.Value.EffectiveAdvertisedAddress();
                o.AdvertisedIPAddress = address;
                o.SiloPort = node.Value.SiloPort!.Value;
                o.GatewayPort = node.Value.GatewayPort!.Value;
                o.SiloListeningEndpoint = new IPEndPoint(address, o.SiloPort);
                o.GatewayListeningEndpoint = o.GatewayPort == 0 ? null : new IPEndPoint(address, o.GatewayPort);
            });
            services.AddOptions<SiloMessagingOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) => o.ResponseTimeout = node.Value.CallTimeout);
            services.AddOptions<GrainCollectionOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) =>
            {
                o.CollectionAge = node.Value.IdleDeactivationAge;
                o.CollectionQuantum = node.Value.CollectionScanPeriod;
                o.DeactivationTimeout = node.Value.ShutdownTimeout;
            });

            silo.AddAdoNetGrainStorage(ConversationGrain.StorageName, options => options.Configure<Database>((o, database) =>
            {
                switch (database)
                {
                    case SqliteDatabase sqlite:
                        o.Invariant = SqliteInvariant;
                        o.ConnectionString = sqlite.ConnectionString;
                        break;
                    case PostgresDatabase postgres:
                        // One Npgsql pool for our tables and Orleans' (Orleans takes a connection string or a data source, not both).
                        o.Invariant = PostgresInvariant;
                        o.DataSource = postgres.DataSource;
                        break;
                }
            }));
            silo.UseSystemTextJsonGrainStorageSerializer();
            services.Configure<SystemTextJsonGrainStorageSerializerOptions>(o =>
            {
                // Our state types are source-generated; anything else Orleans stores falls back to reflection.
                o.JsonSerializerOptions.TypeInfoResolverChain.Add(ConversationStateJsonContext.Default);
                o.JsonSerializerOptions.TypeInfoResolverChain.Add(new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver());
            });

            if (mode == ClusterMode.Postgres)
            {
                silo.UseAdoNetClustering(options => options.Configure<Database>((o, database) =>
                {
                    o.Invariant = PostgresInvariant;
                    o.DataSource = ((PostgresDatabase)database).DataSource;
                }));
                ConfigureFailureDetection(silo);
            }
            else
            {
                // One silo, its own primary: Orleans' localhost clustering, with our ports and names.
                silo.UseDevelopmentClustering((IPEndPoint?)null);
            }

            if (TlsOf(configuration) is { } tls)
            {
                silo.UseTls(tls.Certificate, o => ConfigureTls(o, tls));
            }
        });
        return builder;
    }

    /// <summary>
    /// Adds a pure Orleans client of a <c>Postgres</c> cluster: grain calls go to the silos' gateways, found in the membership table;
    /// nothing runs CLIs here. The membership table is also read directly, so that streams from a silo declared dead end at once.
    /// </summary>
    public static IHostApplicationBuilder AddOrleansCodexClient(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        configuration.AddLegacyEnvironmentAliases();
        var services = builder.Services;
        AddNodeOptions(services, configuration, hostsGrains: false);
        services.AddSingleton<MembershipTableView>();
        services.AddSingleton<IClusterMembershipView>(sp => sp.GetRequiredService<MembershipTableView>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<MembershipTableView>());

        builder.UseOrleansClient(client =>
        {
            services.AddOptions<Orleans.Configuration.ClusterOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) =>
            {
                o.ClusterId = node.Value.ClusterId;
                o.ServiceId = ClusterNodeOptions.ServiceId;
            });
            services.AddOptions<ClientMessagingOptions>().Configure<IOptions<ClusterNodeOptions>>((o, node) => o.ResponseTimeout = node.Value.CallTimeout);
            // A gateway that died is dropped from the list at the next refresh; the table view above ends streams sooner.
            services.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresInvariant;
                o.ConnectionString = configuration.GetConnectionString("Postgres");
            });
            client.UseConnectionRetryFilter(RetryConnectingAsync);
            client.AddDashboard();
            if (TlsOf(configuration) is { } tls)
            {
                client.UseTls(tls.Certificate, o => ConfigureTls(o, tls));
            }
        });
        return builder;
    }

    /// <summary>Serilog from the <c>Serilog</c> section (console when no sink is configured) as the only logging provider.</summary>
    public static IHostApplicationBuilder AddOrleansCodexLogging(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddSerilog((_, logger) =>
        {
            logger.ReadFrom.Configuration(configuration);
            if (!configuration.GetSection("Serilog:WriteTo").Exists())
            {
                logger.WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            }
        });
        return builder;
    }

    /// <summary>The cluster mode the configuration asks for (read before the host is built: it decides what is registered).</summary>
    internal static ClusterMode ModeOf(IConfiguration configuration) =>
        new ClusterNodeOptions { Mode = configuration[$"{ClusterNodeOptions.SectionName}:Mode"] ?? nameof(ClusterMode.Local) }.ParsedMode ?? ClusterMode.Local;

    private static void AddNodeOptions(IServiceCollection services, IConfiguration configuration, bool hostsGrains)
    {
        services.AddOptions<ClusterNodeOptions>()
            .Bind(configuration.GetSection(ClusterNodeOptions.SectionName))
            .PostConfigure(o => o.ApplyDefaults())
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterNodeOptions>>(new ClusterNodeOptionsValidator(hostsGrains));
        services.AddHostedService<RetiredSettingsWarning>();
        services.TryAddSingleton(TimeProvider.System);
    }

    /// <summary>
    /// Failure detection measured on this machine kind (three silo processes): a killed silo is declared dead in 1.1–1.6 s, a hung
    /// one in about 7 s, and the distributed grain directory without range leases re-activates its grains elsewhere at once, while
    /// grains on healthy silos stay where they are (the default directory deactivates some of them when any silo dies).
    /// </summary>
    internal static void ConfigureFailureDetection(ISiloBuilder silo)
    {
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.MaxProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 3;
            o.NumVotesForDeathDeclaration = 2;
            o.EnableIndirectProbes = true;
            o.EnableConnectionLivenessCheck = true;
            o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(10);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
            o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        });
#pragma warning disable ORLEANSEXP003 // The distributed directory is what keeps healthy silos' grains in place when one dies.
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = TimeSpan.Zero);
    }

    /// <summary>A pure client may start before any silo: it keeps trying, and says so.</summary>
    private static async Task<bool> RetryConnectingAsync(Exception exception, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine($"Waiting for a silo of the cluster to accept this client: {exception.Message}");
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        return true;
    }

    private sealed record TlsSettings(X509Certificate2 Certificate, X509Certificate2? Authority);

    private static TlsSettings? TlsOf(IConfiguration configuration)
    {
        var tls = configuration.GetSection($"{ClusterNodeOptions.SectionName}:Tls").Get<ClusterTlsOptions>();
        if (tls is not { Enabled: true } || !File.Exists(tls.CertificatePath))
        {
            return null; // validation names a missing file
        }

        var certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath!, tls.CertificatePassword);
        var authority = tls.CaCertificatePath is { Length: > 0 } ca && File.Exists(ca) ? X509CertificateLoader.LoadCertificateFromFile(ca) : null;
        return new TlsSettings(certificate, authority);
    }

    /// <summary>Both ends must present a certificate: signed by the configured authority, or else the very certificate this node has.</summary>
    private static void ConfigureTls(Orleans.Connections.Security.TlsOptions options, TlsSettings tls)
    {
        options.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, _, _) =>
        {
            if (tls.Authority is null)
            {
                return certificate.RawDataMemory.Span.SequenceEqual(tls.Certificate.RawDataMemory.Span);
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(tls.Authority);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
    }
}

/// <summary>Logs, once at start, the settings of our pre-Orleans runtime that are still configured and now ignored.</summary>
internal sealed partial class RetiredSettingsWarning(IConfiguration configuration, ILogger<RetiredSettingsWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var setting in ClusterNodeOptions.RetiredSettings)
        {
            if (configuration[$"{ClusterNodeOptions.SectionName}:{setting}"] is not null)
            {
                LogRetired($"{ClusterNodeOptions.SectionName}:{setting}");
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning,
        Message = "{Setting} is ignored: it belonged to the runtime used before Orleans (failure detection, node-to-node calls and their secret are Orleans' now; see the README's cluster settings)")]
    private partial void LogRetired(string setting);
}
