using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Options;

/// <summary>Checks that every catalog entry is a model name the server would accept.</summary>
internal sealed class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options)
    {
        var errors = new List<string>();
        Check("Models:Codex", options.EffectiveCodex);
        Check("Models:Claude", options.EffectiveClaude);
        Check("Models:Extra", options.Extra);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Check(string setting, IReadOnlyList<string> models)
        {
            for (var i = 0; i < models.Count; i++)
            {
                if (!ModelRouting.IsValidModelName(models[i]))
                {
                    errors.Add($"{setting}:{i} '{models[i]}' is not a valid model name: use letters, digits and ._:-[] (first a letter or digit, at most {ModelRouting.MaxModelLength} characters).");
                }
            }
        }
    }
}
