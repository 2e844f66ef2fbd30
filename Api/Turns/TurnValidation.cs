using OrleansCodex.Api.Errors;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Turns;

/// <summary>Checks shared by every endpoint that starts a turn. They run before any grain call: their values reach a command line.</summary>
internal static class TurnValidation
{
    public const int MaxMetadataPairs = 16;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 512;


    /// <summary>The model, or a 400 naming <c>model</c>. This check is what keeps a model name from injecting a command line.</summary>
    public static string RequireModel(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            throw OpenAiException.InvalidRequest("You must provide a model parameter.", "model", "missing_required_parameter");
        }

        if (!ModelRouting.IsValidModelName(model))
        {
            throw OpenAiException.InvalidRequest(
                $"Invalid model name. A model name uses letters, digits and ._:-[] only, starts with a letter or digit and has at most {ModelRouting.MaxModelLength} characters.",
                "model", "invalid_model");
        }

        return model;
    }

    public static string? ValidateEffort(string? effort, string param)
    {
        if (effort is null)
        {
            return null;
        }

        return CliOptions.ReasoningEfforts.Contains(effort)
            ? effort
            : throw OpenAiException.InvalidRequest(
                $"Invalid value for '{param}': '{Truncate(effort)}'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high' and 'xhigh'.",
                param, "invalid_value");
    }

    public static IReadOnlyDictionary<string, string>? ValidateMetadata(Dictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Count > MaxMetadataPairs)
        {
            throw OpenAiException.InvalidRequest($"Invalid 'metadata': at most {MaxMetadataPairs} key-value pairs are allowed, got {metadata.Count}.", "metadata", "invalid_value");
        }

        foreach (var (key, value) in metadata)
        {
            if (key.Length > MaxMetadataKeyLength)
            {
                throw OpenAiException.InvalidRequest($"Invalid 'metadata': keys have at most {MaxMetadataKeyLength} characters.", "metadata", "invalid_value");
            }

            if (value.Length > MaxMetadataValueLength)
            {
                throw OpenAiException.InvalidRequest($"Invalid 'metadata.{Truncate(key)}': values have at most {MaxMetadataValueLength} characters.", "metadata", "invalid_value");
            }
        }

        return metadata;
    }

    /// <summary>Echoes a client value in an error message without letting it grow the message unboundedly.</summary>
    public static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
