using System.Security.Cryptography;
using System.Text;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>
/// Maps a response as its conversation holds it (<see cref="StoredResponse"/>, the grain's one projection) onto OpenAI's response
/// and input-item shapes: the same mapping for <c>GET /v1/responses/{id}</c> and for the stream's lifecycle events.
/// </summary>
public static class ResponseMapper
{
    public static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();

    /// <summary>The output message's id: stable for a response, so a later GET returns the same id the stream announced.</summary>
    public static string OutputItemId(string responseId) =>
        responseId.StartsWith("resp_", StringComparison.Ordinal) ? "msg_" + responseId["resp_".Length..] : "msg_" + Hash(responseId + "/output");

    /// <summary>The id of the <paramref name="index"/>-th input item of a response: stable, and distinct from every output id.</summary>
    public static string InputItemId(string responseId, int index) => "msg_" + Hash($"{responseId}/input/{index}");

    public static OutputMessage Message(string itemId, string status, string text) => new(itemId, status, [new OutputTextPart(text)]);

    public static ResponseUsage Usage(TokenUsage usage) => new(
        usage.InputTokens, new InputTokensDetails(usage.CachedInputTokens), usage.OutputTokens, new OutputTokensDetails(usage.ReasoningTokens), usage.TotalTokens);

    public static ResponseObject FromStored(StoredResponse stored)
    {
        var hasText = stored.OutputText.Length > 0;
        var itemStatus = stored.Status == ResponseStatus.Completed ? ResponseStatus.Completed : ResponseStatus.Incomplete;
        var echo = stored.Echo ?? ResponseEcho.Default;
        return new ResponseObject
        {
            Id = stored.Id,
            CreatedAt = stored.CreatedAt.ToUnixTimeSeconds(),
            Status = stored.Status,
            CompletedAt = stored.Status == ResponseStatus.Completed ? stored.CompletedAt?.ToUnixTimeSeconds() : null,
            Model = stored.Model,
            Output = stored.Status == ResponseStatus.Completed || hasText ? [Message(OutputItemId(stored.Id), itemStatus, stored.OutputText)] : [],
            OutputText = stored.OutputText,
            Error = stored.Error is { } error ? new ResponseErrorObject(error.Code, error.Message) : null,
            Instructions = stored.Instructions,
            Metadata = stored.Metadata ?? NoMetadata,
            PreviousResponseId = stored.PreviousResponseId,
            Store = stored.Store,
            MaxOutputTokens = echo.MaxOutputTokens,
            Reasoning = new ReasoningConfig(stored.ReasoningEffort, null),
            Text = TextConfig.For(stored.OutputFormat),
            ParallelToolCalls = echo.ParallelToolCalls,
            Temperature = echo.Temperature ?? 1.0,
            TopP = echo.TopP ?? 1.0,
            Usage = stored.Status == ResponseStatus.Completed ? Usage(stored.Usage ?? TokenUsage.Zero) : stored.Usage is { } usage ? Usage(usage) : null,
        };
    }

    public static IReadOnlyList<InputItem> InputItems(StoredResponse stored) =>
        stored.Input.Select((message, index) => new InputItem(InputItemId(stored.Id, index), message.Role, message.Content.Select(Content).ToList())).ToList();

    private static InputItemContent Content(ContentPart part) => part.Type switch
    {
        "input_image" => new InputItemContent("input_image") { ImageUrl = part.ImageUrl, Detail = "auto" },
        "output_text" => new InputItemContent("output_text") { Text = part.Text ?? "", Annotations = [] },
        _ => new InputItemContent("input_text") { Text = part.Text ?? "" },
    };

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..48];
}
