using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;

namespace OrleansCodex.Api.Auth;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;Auth:ApiKey&gt;</c> on every <c>/v1</c> request when a key is configured (unknown routes
/// included, so they do not reveal what exists). The comparison is over SHA-256 hashes in constant time.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<AuthOptions> options)
{
    private readonly byte[]? _keyHash = options.Value.RequiresKey ? Hash(options.Value.ApiKey!) : null;

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyHash is null || !context.Request.Path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase) || IsAuthorized(context.Request))
        {
            return next(context);
        }

        return OpenAiErrors.WriteAsync(context, OpenAiErrors.Unauthorized());
    }

    private bool IsAuthorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Hash(header[scheme.Length..].Trim()), _keyHash);
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
