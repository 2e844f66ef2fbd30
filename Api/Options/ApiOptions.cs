namespace OrleansCodex.Api.Options;

/// <summary>HTTP front-end limits and streaming behaviour (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Largest accepted request body, in bytes.</summary>
    /// <value>10 MiB by default (room for a few inline images).</value>
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>How long a stream may stay silent before a <c>: ping</c> comment is sent, so proxies and clients keep the connection.</summary>
    /// <value>15 seconds by default.</value>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a streaming request waits for the turn's first event before committing the 200 headers;
    /// failures that arrive within this window are answered as proper HTTP errors instead of in-stream errors.</summary>
    /// <value>3 seconds by default; zero commits the headers at once.</value>
    public TimeSpan FirstEventWait { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The <c>Retry-After</c> sent with 429 and 503 answers, in seconds.</summary>
    /// <value>30 seconds by default.</value>
    public int RetryAfterSeconds { get; set; } = 30;

    /// <summary>Whether input images may be <c>https</c> URLs. They are handed to the CLI, and the model provider fetches them; this
    /// server never does. <c>file:</c>, <c>http:</c> and other schemes are always refused.</summary>
    /// <value>False by default: images must be inline <c>data:</c> URLs.</value>
    public bool AllowRemoteImages { get; set; }

    /// <summary>
    /// Whether this process also hosts grains (a silo, running the CLIs) or is a pure client of a cluster's silos
    /// (needs <c>Cluster:Mode</c> = <c>Postgres</c>). Read once at start-up.
    /// </summary>
    /// <value>True by default: one process is the whole service.</value>
    public bool CoHostSilo { get; set; } = true;
}
