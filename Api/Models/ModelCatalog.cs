using Microsoft.Extensions.Options;
using OrleansCodex.Api.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Models;

/// <summary>The models this server lists, from <see cref="ModelsOptions"/>; each is owned by the CLI its name routes to.</summary>
public sealed class ModelCatalog(IOptions<ModelsOptions> options)
{
    public const string CodexOwner = "openai-codex";
    public const string ClaudeOwner = "anthropic-claude-code";

    private readonly Lazy<IReadOnlyList<ModelObject>> _models = new(() => Build(options.Value));

    public IReadOnlyList<ModelObject> All => _models.Value;

    public ModelObject? Find(string id) => All.FirstOrDefault(model => model.Id == id);

    private static List<ModelObject> Build(ModelsOptions options) =>
        options.EffectiveCodex.Concat(options.EffectiveClaude).Concat(options.Extra)
            .Distinct(StringComparer.Ordinal)
            .Select(id => new ModelObject(id, options.Created, ModelRouting.ProviderFor(id) == CliProvider.Claude ? ClaudeOwner : CodexOwner))
            .ToList();
}
