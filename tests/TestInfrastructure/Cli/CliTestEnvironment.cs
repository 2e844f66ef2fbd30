using System.Globalization;
using System.Text;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Testing.Cli;

/// <summary>
/// A throw-away home for the real CLIs, pointed at a <see cref="StubModelServer"/>: a <c>CODEX_HOME</c> with a <c>config.toml</c>
/// whose only provider is the stub (no retries, no analytics, no plugins), a <c>CLAUDE_CONFIG_DIR</c>, a <c>TMPDIR</c> and a
/// <c>HOME</c>. Give <see cref="Environment"/> to the CLIs (e.g. as <c>Cli:ExtraEnvironment</c>, see <see cref="ToConfiguration"/>).
/// It lives under the repository's <c>.data/test/</c>, not <c>/tmp</c>: Codex refuses to create its helper links under /tmp and
/// warns on every run. Disposing deletes it.
/// </summary>
public sealed class CliTestEnvironment : IDisposable
{
    /// <summary>The variable Codex reads the stub's key from (<c>env_key</c> of the stub provider).</summary>
    public const string StubKeyVariable = "ORLEANSCODEX_STUB_API_KEY";

    private static readonly TimeSpan LeftoverAge = TimeSpan.FromHours(6);

    private readonly Dictionary<string, string> _environment;

    private CliTestEnvironment(string root, StubModelServer stub, bool isolateHome, TimeSpan codexStreamIdleTimeout)
    {
        RootDirectory = root;
        CodexHome = CreateDirectory(root, "codex-home");
        ClaudeConfigDirectory = CreateDirectory(root, "claude-config");
        TempDirectory = CreateDirectory(root, "tmp");
        HomeDirectory = CreateDirectory(root, "home");
        CodexPath = CliInstallation.CodexPath;
        ClaudePath = CliInstallation.ClaudePath;
        var apiKey = stub.ApiKey ?? StubModelServer.DefaultApiKey;

        File.WriteAllText(Path.Combine(CodexHome, "config.toml"), CodexConfig(stub.OpenAiBaseUrl, codexStreamIdleTimeout), new UTF8Encoding(false));

        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CODEX_HOME"] = CodexHome,
            [StubKeyVariable] = apiKey,
            ["CLAUDE_CONFIG_DIR"] = ClaudeConfigDirectory,
            ["ANTHROPIC_BASE_URL"] = stub.BaseUri.ToString().TrimEnd('/'),
            ["ANTHROPIC_API_KEY"] = apiKey,
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["CLAUDE_CODE_MAX_RETRIES"] = "0",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["RUST_BACKTRACE"] = "0",
            ["TMPDIR"] = TempDirectory,
        };
        if (isolateHome)
        {
            // Keeps the developer's own ~/.codex, ~/.claude and shell rc files out of the tests.
            _environment["HOME"] = HomeDirectory;
        }
    }

    /// <summary>The environment's own folder (deleted on dispose).</summary>
    public string RootDirectory { get; }

    public string CodexHome { get; }

    public string ClaudeConfigDirectory { get; }

    public string TempDirectory { get; }

    public string HomeDirectory { get; }

    /// <summary>The native Codex binary of tools/node_modules.</summary>
    public string CodexPath { get; }

    /// <summary>The native Claude Code binary of tools/node_modules.</summary>
    public string ClaudePath { get; }

    /// <summary>Variables to add to the environment of the service or of a CLI process.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>
    /// Creates the folders and Codex's config. Throws, with the install command, if the CLIs are missing.
    /// </summary>
    /// <param name="isolateHome">Also set <c>HOME</c> to a private folder (default). Turn off for processes that need the real home.</param>
    /// <param name="codexStreamIdleTimeout">Codex's own stream idle timeout; default 5 minutes so the service's deadline is what a test of a hung stream sees.</param>
    public static CliTestEnvironment Create(StubModelServer stub, bool isolateHome = true, TimeSpan? codexStreamIdleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(stub);
        var parent = Path.Combine(CliInstallation.RepoRoot, ".data", "test");
        Directory.CreateDirectory(parent);
        DeleteLeftovers(parent);
        var name = string.Create(CultureInfo.InvariantCulture, $"cli-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..8]}");
        return new CliTestEnvironment(Path.Combine(parent, name), stub, isolateHome, codexStreamIdleTimeout ?? TimeSpan.FromMinutes(5));
    }

    /// <summary>A fresh, empty working directory for one conversation (Claude sessions are per directory).</summary>
    public string CreateWorkingDirectory(string name = "conv") =>
        CreateDirectory(Path.Combine(RootDirectory, "work"), $"{name}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>
    /// The settings that point a whole OrleansCodex service at these CLIs: <c>Cli:CodexPath</c>, <c>Cli:ClaudePath</c> and one
    /// <c>Cli:ExtraEnvironment:NAME</c> per variable. Feed them to <c>AddInMemoryCollection</c> or turn them into <c>Cli__…</c> variables.
    /// </summary>
    public IEnumerable<KeyValuePair<string, string?>> ToConfiguration(string section = "Cli")
    {
        yield return new($"{section}:CodexPath", CodexPath);
        yield return new($"{section}:ClaudePath", ClaudePath);
        foreach (var (name, value) in _environment)
        {
            yield return new($"{section}:ExtraEnvironment:{name}", value);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(RootDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A CLI killed a moment ago may still be releasing a file; the next run's leftover sweep removes it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string CodexConfig(string baseUrl, TimeSpan streamIdleTimeout) =>
        $$"""
        # Written by CliTestEnvironment: every model call goes to the stub on 127.0.0.1, nothing else leaves the machine.
        model = "{{StubModelServer.CodexModel}}"
        model_provider = "stub"
        check_for_update_on_startup = false

        [model_providers.stub]
        name = "OrleansCodex test stub"
        base_url = "{{baseUrl}}"
        wire_api = "responses"
        env_key = "{{StubKeyVariable}}"
        request_max_retries = 0
        stream_max_retries = 0
        stream_idle_timeout_ms = {{(long)streamIdleTimeout.TotalMilliseconds}}

        [analytics]
        enabled = false

        [features]
        plugins = false
        unbounded_connection_retries = false

        """;

    private static string CreateDirectory(string parent, string name)
    {
        var path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private static void DeleteLeftovers(string parent)
    {
        foreach (var directory in new DirectoryInfo(parent).EnumerateDirectories("cli-*"))
        {
            if (DateTime.UtcNow - directory.CreationTimeUtc < LeftoverAge)
            {
                continue;
            }

            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
