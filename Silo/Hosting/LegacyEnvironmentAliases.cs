using System.Globalization;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;

namespace OrleansCodex.Silo.Hosting;

/// <summary>
/// Accepts the seed project's flat environment names (<c>CODEX_PATH</c>, <c>CODEX_TIMEOUT</c>…) as aliases of our settings, so its
/// users can switch without relearning. They rank above appsettings.json and below <c>Section__Key</c> variables and the command line.
/// </summary>
public static class LegacyEnvironmentAliases
{
    /// <summary>Alias → setting; a converter turns the seed's value format into ours.</summary>
    private static readonly (string Alias, string Key, Func<string, string> Convert)[] Aliases =
    [
        ("CODEX_PATH", "Cli:CodexPath", Same),
        ("CLAUDE_PATH", "Cli:ClaudePath", Same),
        ("CODEX_WORKDIR", "Conversations:WorkDirectory", Same),
        ("CODEX_TIMEOUT", "Cli:TurnTimeout", Seconds),
        ("CODEX_SANDBOX_MODE", "Cli:CodexSandboxMode", Same),
        ("CODEX_ALLOW_DANGER_FULL_ACCESS", "Cli:CodexAllowDangerFullAccess", Same),
        ("CODEX_REASONING_EFFORT", "Cli:CodexReasoningEffort", Same),
        ("CODEX_LOCAL_ONLY", "Cli:LocalOnly", Same),
        ("PROXY_API_KEY", "Auth:ApiKey", Same),
    ];

    /// <param name="environment">The variables to read; the process environment when null (tests pass their own).</param>
    public static IConfigurationBuilder AddLegacyEnvironmentAliases(this IConfigurationBuilder configuration, IReadOnlyDictionary<string, string>? environment = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (alias, key, convert) in Aliases)
        {
            var value = environment is null ? Environment.GetEnvironmentVariable(alias) : environment.GetValueOrDefault(alias);
            if (value is { Length: > 0 })
            {
                values[key] = convert(value);
            }
        }

        if (values.Count == 0)
        {
            return configuration;
        }

        var source = new MemoryConfigurationSource { InitialData = values };
        // The unprefixed one: the host's DOTNET_/ASPNETCORE_ sources come before appsettings.json, the app's variables after it.
        var firstEnvironment = configuration.Sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource { Prefix: null or "" });
        if (firstEnvironment < 0)
        {
            configuration.Sources.Add(source);
        }
        else
        {
            configuration.Sources.Insert(firstEnvironment, source);
        }

        return configuration;
    }

    private static string Same(string value) => value;

    /// <summary>The seed took whole seconds; our TimeSpan settings also accept <c>hh:mm:ss</c>, which passes through.</summary>
    private static string Seconds(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
        && double.IsFinite(seconds) && Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture)
            : value; // left as it is, so that options validation names the setting
}
