using System.Net;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// <c>Cli:LocalOnly</c> (alias <c>CODEX_LOCAL_ONLY</c>): decides for each provider whether its CLI's model server is on this machine,
/// from the same settings the CLI reads. Codex: <c>$CODEX_HOME/config.toml</c> (CODEX_HOME as the CLI sees it: from
/// <see cref="CliOptions.ExtraEnvironment"/>, else the server's environment, else <c>~/.codex</c>), its top-level
/// <c>model_provider</c> and that provider's <c>[model_providers.NAME]</c> <c>base_url</c> (read by <see cref="CodexConfig"/>); the built-in <c>openai</c> provider (also
/// the default) uses <c>OPENAI_BASE_URL</c>, else <c>https://api.openai.com/v1</c>. Claude Code: <c>ANTHROPIC_BASE_URL</c>, else
/// <c>https://api.anthropic.com</c>. Allowed are http(s) URLs whose host is <c>localhost</c>, in 127.0.0.0/8 or <c>::1</c>, and unix
/// sockets (<c>unix:</c>, <c>http+unix:</c>); anything else, or a setting that cannot be read, is refused: the safe side.
/// </summary>
public static class LocalOnlyPolicy
{
    private const string Setting = "Cli:LocalOnly (CODEX_LOCAL_ONLY)";
    private const string OpenAiDefault = "https://api.openai.com/v1";
    private const string AnthropicDefault = "https://api.anthropic.com";

    private static readonly string[] UnixSocketSchemes = ["unix:", "http+unix:", "https+unix:"];

    /// <summary>Null when <paramref name="provider"/>'s CLI may run under <see cref="CliOptions.LocalOnly"/> (or the setting is off); else the refusal.</summary>
    public static TurnError? Check(CliProvider provider, CliOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.LocalOnly)
        {
            return null;
        }

        var (url, source) = ModelServer(provider, options);
        if (url is not null && IsLocal(url))
        {
            return null;
        }

        var name = provider == CliProvider.Codex ? "Codex" : "Claude Code";
        var what = url is null ? $"cannot be told ({source})" : $"is {url} ({source})";
        return new TurnError(TurnErrorCodes.ProviderNotLocal,
            $"This server only lets the CLIs use model servers on this machine ({Setting}), and {name}'s model server {what}. " +
            "Point the CLI at a loopback address or a unix socket, or turn the setting off.");
    }

    /// <summary>The model server's URL as the CLI will use it and where that came from; a null URL when it cannot be read.</summary>
    internal static (string? Url, string Source) ModelServer(CliProvider provider, CliOptions options)
    {
        if (provider == CliProvider.Claude)
        {
            return Variable(options, "ANTHROPIC_BASE_URL") is { } claudeUrl
                ? (claudeUrl, "ANTHROPIC_BASE_URL")
                : (AnthropicDefault, "the default, ANTHROPIC_BASE_URL is not set");
        }

        var home = Variable(options, "CODEX_HOME")
            ?? Path.Combine(Variable(options, "HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".codex");
        var config = Path.Combine(home, "config.toml");
        if (!CodexConfig.TryReadModelProvider(config, out var configured, out var whyNot))
        {
            return (null, whyNot);
        }

        if (configured is { Name: CodexConfig.OpenAi, Defined: false })
        {
            return Variable(options, "OPENAI_BASE_URL") is { } openAiUrl
                ? (openAiUrl, "OPENAI_BASE_URL, for the built-in openai model provider")
                : (OpenAiDefault, $"the built-in openai model provider; OPENAI_BASE_URL is not set and {config} names no other");
        }

        return configured.BaseUrl is { } baseUrl
            ? (baseUrl, $"base_url of model provider '{configured.Name}' in {config}")
            : (null, $"model provider '{configured.Name}' has no base_url in {config}");
    }

    /// <summary>Whether a URL names this machine: http(s) to localhost, 127.0.0.0/8 or ::1, or a unix socket.</summary>
    public static bool IsLocal(string url)
    {
        url = url.Trim();
        if (UnixSocketSchemes.Any(scheme => url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)))
        {
            // The socket path follows in one of several encodings (unix:///p, http+unix://%2Fp/...); a socket is local whatever the path.
            return true;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        switch (uri.Scheme)
        {
            case "http" or "https":
                var host = uri.DnsSafeHost;
                return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                    || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
            default:
                return false;
        }
    }

    /// <summary>A variable as the CLI will see it: <see cref="CliOptions.ExtraEnvironment"/> first (empty removes it), then the server's environment.</summary>
    private static string? Variable(CliOptions options, string name)
    {
        var value = options.ExtraEnvironment.TryGetValue(name, out var extra) ? extra : Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
