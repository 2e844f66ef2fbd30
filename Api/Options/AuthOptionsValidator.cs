using System.Net;
using Microsoft.Extensions.Options;

namespace OrleansCodex.Api.Options;

/// <summary>
/// Refuses to start an unauthenticated server that listens beyond loopback: without a key, anyone who reaches the port
/// could run coding agents on this machine.
/// </summary>
internal sealed class AuthOptionsValidator(IConfiguration configuration) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (options.RequiresKey || options.AllowUnauthenticatedRemote)
        {
            return ValidateOptionsResult.Success;
        }

        var remote = ListenAddresses.Configured(configuration).Where(url => !ListenAddresses.IsLoopback(url)).ToList();
        return remote.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Refusing to listen on {string.Join(", ", remote)} without an API key. Set Auth:ApiKey (or PROXY_API_KEY), " +
                "listen on loopback only (e.g. --urls http://127.0.0.1:8080), or set Auth:AllowUnauthenticatedRemote=true to accept the risk.");
    }
}

/// <summary>The addresses the web server is configured to listen on, read the way Kestrel reads them.</summary>
internal static class ListenAddresses
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static IEnumerable<string> Configured(IConfiguration configuration)
    {
        foreach (var url in Split(configuration["urls"]))
        {
            yield return url;
        }

        foreach (var key in new[] { "http_ports", "https_ports" })
        {
            foreach (var port in Split(configuration[key]))
            {
                yield return $"http://*:{port}";
            }
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                yield return url;
            }
        }
    }

    /// <summary>Whether any listen address is configured at all (otherwise the server gets <see cref="DefaultUrl"/>).</summary>
    public static bool AnyConfigured(IConfiguration configuration) => Configured(configuration).Any();

    public static bool IsLoopback(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd >= 0 ? url[(schemeEnd + 3)..] : url;
        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']');
            host = close > 0 ? rest[1..close] : rest;
        }
        else
        {
            var end = rest.IndexOfAny([':', '/']);
            host = end >= 0 ? rest[..end] : rest;
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    private static IEnumerable<string> Split(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
