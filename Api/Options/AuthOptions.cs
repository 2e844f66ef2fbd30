namespace OrleansCodex.Api.Options;

/// <summary>Client authentication for <c>/v1</c> (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The bearer key every <c>/v1</c> call must present; the environment variable <c>PROXY_API_KEY</c> is an alias.</summary>
    /// <value>Unset by default: no authentication, and the server then only listens on loopback.</value>
    public string? ApiKey { get; set; }

    /// <summary>Allows listening on a non-loopback address without an <see cref="ApiKey"/>. Anyone who can reach the port then runs coding agents on this machine.</summary>
    /// <value>False by default.</value>
    public bool AllowUnauthenticatedRemote { get; set; }

    public bool RequiresKey => !string.IsNullOrEmpty(ApiKey);
}
