using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Turns;

/// <summary>What a request asks to change about how its CLI runs, syntax-checked; the node that runs the turn applies its own policy to it.</summary>
public sealed record TurnControls(string? Sandbox, bool? NetworkAccess, string? ReasoningEffort, TimeSpan? Timeout, OutputFormat? OutputFormat)
{
    public static readonly TurnControls None = new(null, null, null, null, null);
}

public static class TurnRequestControls
{
    /// <summary>The request with its checked controls applied.</summary>
    public static TurnRequest WithControls(this TurnRequest request, TurnControls controls) => request with
    {
        Sandbox = controls.Sandbox,
        NetworkAccess = controls.NetworkAccess,
        ReasoningEffort = controls.ReasoningEffort,
        Timeout = controls.Timeout,
        OutputFormat = controls.OutputFormat,
    };
}

/// <summary>
/// Checks the syntax of the parts of a turn request that reach a CLI's command line or sandbox: images, structured output and the
/// <c>x_codex</c> extension (<c>sandbox</c>, <c>network_access</c>, <c>reasoning_effort</c>, <c>timeout</c>). Whether the node may
/// grant them (a request may only lower the node's sandbox and network access unless <c>Cli:AllowRaisingPrivileges</c>; a timeout
/// may only lower <c>Cli:TurnTimeout</c>) is decided once, by the conversation on the silo that runs the turn, with that node's
/// settings (<c>TurnAdmission</c>). Claude Code's permissions come from server settings only, so the sandbox fields are refused
/// for Claude models.
/// </summary>
public sealed partial class TurnPolicy(IOptions<ApiOptions> api)
{
    public const string ExtensionName = "x_codex";
    public const int MaxImagesPerTurn = 16;

    /// <summary>
    /// Images: <c>data:</c> URLs of a supported type with valid base64; <c>https</c> URLs only when <c>Api:AllowRemoteImages</c>, and
    /// only for Claude models (Codex refuses remote image URLs).
    /// </summary>
    public IReadOnlyList<InputMessage> ValidateImages(IReadOnlyList<InputMessage> input, string param, string model)
    {
        var count = 0;
        for (var m = 0; m < input.Count; m++)
        {
            foreach (var part in input[m].Content.Where(p => p.Type == "input_image"))
            {
                if (++count > MaxImagesPerTurn)
                {
                    throw OpenAiException.InvalidRequest($"At most {MaxImagesPerTurn} images are accepted per request.", param, "too_many_images");
                }

                ValidateImageUrl(part.ImageUrl ?? "", param, model);
            }
        }

        return input;
    }

    private void ValidateImageUrl(string url, string param, string model)
    {
        if (TurnImages.TryParseDataUrl(url, out var mediaType, out var base64))
        {
            if (!TurnImages.MediaTypes.ContainsKey(mediaType))
            {
                throw OpenAiException.InvalidRequest(
                    $"Unsupported image type '{TurnValidation.Truncate(mediaType)}'. Supported types are: {string.Join(", ", TurnImages.MediaTypes.Keys)}.",
                    param, "invalid_image_format");
            }

            var buffer = new byte[base64.Length / 4 * 3 + 3];
            if (base64.Length == 0 || !Convert.TryFromBase64String(base64, buffer, out _))
            {
                throw OpenAiException.InvalidRequest("An image data URL does not hold valid base64 data.", param, "invalid_image");
            }

            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw OpenAiException.InvalidRequest(
                "An image must be a data: URL (data:image/png;base64,...) or, where the server allows remote images, an https URL.",
                param, "invalid_image_url");
        }

        if (!api.Value.AllowRemoteImages)
        {
            throw OpenAiException.InvalidRequest(
                "Remote image URLs are disabled on this server (Api:AllowRemoteImages); send the image inline as a data: URL.",
                param, "remote_images_disabled");
        }

        if (uri.Scheme != "https")
        {
            throw OpenAiException.InvalidRequest("Remote image URLs must use https.", param, "invalid_image_url");
        }

        if (ModelRouting.ProviderFor(model) == CliProvider.Codex)
        {
            throw OpenAiException.InvalidRequest(
                "Codex takes images only inline; send this image as a data: URL (remote image URLs work with Claude models).", param, "unsupported_input");
        }
    }

    /// <summary>
    /// A Responses <c>text.format</c> or Chat <c>response_format</c>: <c>text</c> (or absent) is free text; <c>json_schema</c> needs a
    /// name and an object schema; <c>json_object</c> has nothing more (the conversation tells the CLI to answer with one JSON object).
    /// </summary>
    /// <param name="nestedSchema">Whether <c>name</c>/<c>schema</c>/<c>strict</c> live in a <c>json_schema</c> member (Chat) rather than
    /// in the format itself (Responses).</param>
    public static OutputFormat? ParseOutputFormat(JsonElement format, string param, bool nestedSchema)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.InvalidRequest($"'{param}' must be an object.", param, "invalid_type");
        }

        var type = format.TryGetProperty("type", out var typeValue) && typeValue.ValueKind == JsonValueKind.String ? typeValue.GetString() : null;
        switch (type)
        {
            case "text":
                return null;
            case OutputFormat.JsonObjectType:
                return OutputFormat.JsonObject;
            case "json_schema":
                break;
            default:
                throw OpenAiException.InvalidRequest(
                    $"Invalid value for '{param}.type': {(type is null ? "missing" : $"'{TurnValidation.Truncate(type)}'")}. Supported values are: 'text', 'json_object' and 'json_schema'.",
                    $"{param}.type", "invalid_value");
        }

        var holderParam = nestedSchema ? $"{param}.json_schema" : param;
        var holder = format;
        if (nestedSchema && (!format.TryGetProperty("json_schema", out holder) || holder.ValueKind != JsonValueKind.Object))
        {
            throw OpenAiException.InvalidRequest($"Missing required parameter: '{holderParam}'.", holderParam, "missing_required_parameter");
        }

        var name = holder.TryGetProperty("name", out var nameValue) && nameValue.ValueKind == JsonValueKind.String ? nameValue.GetString()! : null;
        if (name is null || !SchemaNamePattern().IsMatch(name))
        {
            throw OpenAiException.InvalidRequest(
                $"Invalid '{holderParam}.name': it is required and uses letters, digits, '_' and '-' only, at most 64 characters.", $"{holderParam}.name",
                name is null ? "missing_required_parameter" : "invalid_value");
        }

        if (!holder.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.InvalidRequest($"'{holderParam}.schema' must be a JSON schema object.", $"{holderParam}.schema",
                holder.TryGetProperty("schema", out _) ? "invalid_type" : "missing_required_parameter");
        }

        var strict = holder.TryGetProperty("strict", out var strictValue) && strictValue.ValueKind == JsonValueKind.True;
        return OutputFormat.ForSchema(name, schema.GetRawText(), strict);
    }

    /// <summary>The <c>x_codex</c> extension and the standard effort, merged and syntax-checked.</summary>
    public TurnControls ParseControls(JsonElement extension, string model, string? standardEffort, string standardEffortParam, OutputFormat? format)
    {
        string? sandbox = null;
        bool? network = null;
        string? effort = null;
        TimeSpan? timeout = null;
        if (extension.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            if (extension.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.InvalidRequest($"'{ExtensionName}' must be an object.", ExtensionName, "invalid_type");
            }

            foreach (var property in extension.EnumerateObject())
            {
                var param = $"{ExtensionName}.{property.Name}";
                var value = property.Value;
                switch (property.Name)
                {
                    case "sandbox":
                        sandbox = value.ValueKind == JsonValueKind.String ? value.GetString() : throw TypeError(param, "a string");
                        break;
                    case "network_access":
                        network = value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw TypeError(param, "a boolean");
                        break;
                    case "reasoning_effort":
                        effort = TurnValidation.ValidateEffort(value.ValueKind == JsonValueKind.String ? value.GetString() : throw TypeError(param, "a string"), param);
                        break;
                    case "timeout":
                        timeout = ParseTimeout(value, param);
                        break;
                    default:
                        throw OpenAiException.InvalidRequest(
                            $"Unknown parameter: '{TurnValidation.Truncate(param)}'. Supported are: sandbox, network_access, reasoning_effort and timeout.", param, "unknown_parameter");
                }
            }
        }

        if (effort is not null && standardEffort is not null && effort != standardEffort)
        {
            throw OpenAiException.InvalidRequest(
                $"'{ExtensionName}.reasoning_effort' ('{effort}') contradicts '{standardEffortParam}' ('{standardEffort}'); send one of them.",
                $"{ExtensionName}.reasoning_effort", "invalid_value");
        }

        if ((sandbox is not null || network is not null) && ModelRouting.ProviderFor(model) != CliProvider.Codex)
        {
            throw OpenAiException.InvalidRequest(
                $"'{ExtensionName}.{(sandbox is not null ? "sandbox" : "network_access")}' applies to Codex models only; Claude Code's permissions are set by the server (Cli:ClaudePermissionMode).",
                $"{ExtensionName}.{(sandbox is not null ? "sandbox" : "network_access")}", "unsupported_parameter");
        }

        if (sandbox is not null && !CliOptions.SandboxModes.Contains(sandbox))
        {
            const string Param = ExtensionName + ".sandbox";
            throw OpenAiException.InvalidRequest(
                $"Invalid value for '{Param}': '{TurnValidation.Truncate(sandbox)}'. Supported values are: {string.Join(", ", CliOptions.SandboxModes.Select(m => $"'{m}'"))}.",
                Param, "invalid_value");
        }

        return new TurnControls(sandbox, network, effort ?? standardEffort, timeout, format);
    }

    private static TimeSpan ParseTimeout(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || seconds <= 0 || double.IsNaN(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            throw OpenAiException.InvalidRequest($"'{param}' must be a positive number of seconds.", param, "invalid_value");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static OpenAiException TypeError(string param, string expected) =>
        OpenAiException.InvalidRequest($"'{param}' must be {expected}.", param, "invalid_type");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex SchemaNamePattern();
}
