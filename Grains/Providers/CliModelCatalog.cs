using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>The models a CLI knows, from the CLI itself; null <see cref="Models"/> with a <see cref="Problem"/> when it could not be asked.</summary>
public sealed record CliModels(CliProvider Provider, IReadOnlyList<string>? Models, string? Problem);

/// <summary>The model catalogs of this node's CLIs.</summary>
public interface ICliModelCatalog
{
    Task<CliModels> GetModelsAsync(CliProvider provider, CancellationToken cancellationToken);
}

/// <summary>
/// Asks each CLI for its own model catalog, offline: Codex's bundled catalog (<c>codex debug models --bundled</c>, models whose
/// visibility is <c>list</c>) and Claude Code's model picker (the <c>models</c> of its stream-json <c>initialize</c> answer: aliases
/// such as <c>sonnet</c>, <c>opus[1m]</c> and the models they resolve to). Both are asked in the background at start-up; a catalog
/// is kept for the life of the process (it is built into the CLI binary), a failed probe is retried after
/// <see cref="CliOptions.StatusRefreshInterval"/>.
/// </summary>
public sealed partial class CliModelCatalog(
    CodexExecRunner codex,
    ClaudePrintRunner claude,
    IOptionsMonitor<CliOptions> options,
    TimeProvider timeProvider,
    ILogger<CliModelCatalog> logger) : ICliModelCatalog, IHostedService
{
    private const string ClaudeInitialize = """{"type":"control_request","request_id":"models","request":{"subtype":"initialize"}}""" + "\n";
    private readonly Dictionary<CliProvider, (Task<CliModels> Probe, DateTimeOffset StartedAt)> _probes = [];
    private readonly Lock _lock = new();

    public Task<CliModels> GetModelsAsync(CliProvider provider, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_probes.TryGetValue(provider, out var probe)
                || (probe.Probe.IsCompleted && probe.Probe.Result.Models is null && timeProvider.GetUtcNow() - probe.StartedAt > options.CurrentValue.StatusRefreshInterval))
            {
                probe = (Task.Run(() => ProbeAsync(provider)), timeProvider.GetUtcNow());
                _probes[provider] = probe;
            }

            return probe.Probe.WaitAsync(cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var provider in Enum.GetValues<CliProvider>())
        {
            _ = GetModelsAsync(provider, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<CliModels> ProbeAsync(CliProvider provider)
    {
        var settings = options.CurrentValue;
        var executable = CliExecutableLocator.Resolve(provider, provider == CliProvider.Codex ? settings.CodexPath : settings.ClaudePath);
        if (executable.Path is null)
        {
            return new CliModels(provider, null, executable.Problem);
        }

        var (arguments, environment, stdin) = provider == CliProvider.Codex
            ? ((IReadOnlyList<string>)["debug", "models", "--bundled"], codex.BuildEnvironment(settings), "")
            : (["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"], claude.BuildEnvironment(settings), ClaudeInitialize);
        try
        {
            var probe = await CliProcess.RunProbeAsync(
                new CliCommand(provider, executable.Path, arguments, AppContext.BaseDirectory, environment), settings.StatusCheckTimeout, logger, timeProvider,
                CancellationToken.None, stdin);
            var models = provider == CliProvider.Codex ? ParseCodex(probe.Stdout) : ParseClaude(probe.Stdout);
            if (models.Count == 0)
            {
                var problem = $"{executable.Path} gave no model catalog ({(probe.TimedOut ? "timed out" : CliErrors.MostRelevantLine(probe.Stderr + "\n" + probe.Stdout))}).";
                LogProbeFailed(provider, problem);
                return new CliModels(provider, null, problem);
            }

            LogCatalog(provider, models.Count, string.Join(", ", models));
            return new CliModels(provider, models, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogProbeFailed(provider, e.Message);
            return new CliModels(provider, null, e.Message);
        }
    }

    /// <summary>The slugs of <c>{"models":[{"slug":…,"visibility":"list"},…]}</c>; Codex may print warnings before the JSON.</summary>
    internal static IReadOnlyList<string> ParseCodex(string stdout)
    {
        var start = stdout.IndexOf('{');
        if (start < 0)
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(stdout.AsMemory(start));
            if (!document.RootElement.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
            {
                return [];
            }

            return models.EnumerateArray()
                .Where(m => m.TryGetProperty("visibility", out var v) && v.ValueKind == JsonValueKind.String && v.GetString() == "list")
                .Select(m => m.TryGetProperty("slug", out var slug) && slug.ValueKind == JsonValueKind.String ? slug.GetString() : null)
                .OfType<string>().Where(ModelRouting.IsValidModelName).Distinct(StringComparer.Ordinal).ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>
    /// The <c>value</c>s (aliases) and <c>resolvedModel</c>s of the <c>initialize</c> answer's <c>models</c>, each also without its
    /// context suffix (<c>opus[1m]</c> → <c>opus</c>), except <c>default</c> (which would not route to Claude) and anything that is not
    /// a valid model name.
    /// </summary>
    internal static IReadOnlyList<string> ParseClaude(string stdout)
    {
        var models = new List<string>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.GetString() != "control_response"
                    || !root.TryGetProperty("response", out var response) || !response.TryGetProperty("response", out var body)
                    || !body.TryGetProperty("models", out var list) || list.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var model in list.EnumerateArray())
                {
                    foreach (var name in new[] { "value", "resolvedModel" })
                    {
                        if (model.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { } id
                            && id != "default" && ModelRouting.IsValidModelName(id) && ModelRouting.ProviderFor(id) == CliProvider.Claude)
                        {
                            models.Add(id);
                            if (id.IndexOf('[') is > 0 and var suffix)
                            {
                                // opus[1m] is the 1M-context variant of opus; Claude Code takes the plain name too.
                                models.Add(id[..suffix]);
                            }
                        }
                    }
                }
            }
            catch (JsonException)
            {
            }
        }

        return models.Distinct(StringComparer.Ordinal).ToList();
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "{Provider} model catalog: {Count} models ({Models})")]
    private partial void LogCatalog(CliProvider provider, int count, string models);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Could not read the {Provider} model catalog: {Problem}")]
    private partial void LogProbeFailed(CliProvider provider, string problem);
}
