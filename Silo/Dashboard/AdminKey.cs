using System.Security.Cryptography;
using System.Text;

namespace OrleansCodex.Silo.Dashboard;

/// <summary>
/// The operator's key for the Orleans dashboard (and later operator pages): <c>Auth:AdminKey</c>, else the client key
/// <c>Auth:ApiKey</c> / <c>PROXY_API_KEY</c>. Kept only as a SHA-256 hash and compared in constant time; never logged.
/// </summary>
public sealed class AdminKey
{
    private readonly byte[]? _hash;

    public AdminKey(IConfiguration configuration)
    {
        // The same fallback as the API's own key (Auth:ApiKey, else a PROXY_API_KEY setting from any source, not only the environment),
        // so that a server whose /v1 needs a key never serves the dashboard without one.
        var key = new[] { configuration["Auth:AdminKey"], configuration["Auth:ApiKey"], configuration["PROXY_API_KEY"] }
            .FirstOrDefault(k => !string.IsNullOrEmpty(k));
        _hash = string.IsNullOrEmpty(key) ? null : Hash(key);
    }

    /// <summary>Whether a key is configured. Without one, the dashboard is served to loopback connections only.</summary>
    public bool IsConfigured => _hash is not null;

    public bool Matches(string? candidate) =>
        _hash is not null && candidate is not null && CryptographicOperations.FixedTimeEquals(Hash(candidate), _hash);

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
