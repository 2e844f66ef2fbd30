using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace OrleansCodex.Cluster.Transport;

/// <summary>The configured cluster secret, kept only as its SHA-256 hash and compared in constant time.</summary>
internal sealed class ClusterSecret(IOptions<ClusterTransportOptions> options)
{
    private readonly byte[]? _hash = string.IsNullOrEmpty(options.Value.Secret) ? null : Hash(options.Value.Secret);

    /// <summary>The value callers send; read from options each time so the plain secret is held only by the options object.</summary>
    public string Value => options.Value.Secret ?? throw new InvalidOperationException("Cluster:Secret is not set.");

    /// <summary>True only for exactly one header value equal to the configured secret; never true when no secret is configured.</summary>
    public bool Matches(StringValues presented)
    {
        if (_hash is null || presented.Count != 1 || presented[0] is not { Length: > 0 } value)
        {
            return false;
        }

        // Hashing first makes the comparison length-independent as well as constant-time.
        return CryptographicOperations.FixedTimeEquals(_hash, Hash(value));
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}
