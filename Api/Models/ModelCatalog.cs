using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Models;

/// <summary>
/// The models this server lists and accepts. Per provider: <c>Models:Codex</c> / <c>Models:Claude</c> when configured, else the CLI's
/// own catalog (<see cref="ICliModelCatalog"/>), else — on a front end without CLIs, or when the CLI cannot be asked — the built-in
/// list; plus <c>Models:Extra</c>. A model outside the catalog is refused with 404 <c>model_not_found</c> before any grain or
/// process is touched, unless <c>Models:AllowUnlisted</c> lets it through (custom providers in Codex's config.toml, say).
/// </summary>
public sealed class ModelCatalog(IOptions<ModelsOptions> options, IServiceProvider services)
{
    public const string CodexOwner = "openai-codex";
    public const string ClaudeOwner = "anthropic-claude-code";

    public async Task<IReadOnlyList<ModelObject>> GetAllAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var codex = await ListAsync(CliProvider.Codex, settings.Codex, ModelsOptions.DefaultCodexModels, cancellationToken);
        var claude = await ListAsync(CliProvider.Claude, settings.Claude, ModelsOptions.DefaultClaudeModels, cancellationToken);
        return codex.Concat(claude).Concat(settings.Extra)
            .Distinct(StringComparer.Ordinal)
            .Select(id => new ModelObject(id, settings.Created, ModelRouting.ProviderFor(id) == CliProvider.Claude ? ClaudeOwner : CodexOwner))
            .ToList();
    }

    public async Task<ModelObject?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await GetAllAsync(cancellationToken)).FirstOrDefault(model => model.Id == id);

    /// <summary>The 404 a turn gets for a model this server does not serve (unless <c>Models:AllowUnlisted</c>).</summary>
    public async Task EnsureServedAsync(string model, CancellationToken cancellationToken)
    {
        if (options.Value.AllowUnlisted || await FindAsync(model, cancellationToken) is not null)
        {
            return;
        }

        throw NotFound(model);
    }

    public static OpenAiException NotFound(string model) => OpenAiException.NotFound(
        $"The model '{TurnValidation.Truncate(model)}' does not exist or is not served here; GET /v1/models lists the models this server serves.",
        "model", TurnErrorCodes.ModelNotFound);

    private async Task<IReadOnlyList<string>> ListAsync(CliProvider provider, string[]? configured, IReadOnlyList<string> builtIn, CancellationToken cancellationToken)
    {
        if (configured is not null)
        {
            return configured;
        }

        if (services.GetService<ICliModelCatalog>() is { } catalog && (await catalog.GetModelsAsync(provider, cancellationToken)).Models is { } models)
        {
            return models;
        }

        return builtIn;
    }
}
