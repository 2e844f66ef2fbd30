using System.Security.Cryptography;
using System.Text;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>The request-level facts of a response, from which every state of its response object is built.</summary>
public sealed record ResponseTemplate(
    string Id,
    DateTimeOffset CreatedAt,
    string Model,
    string? Instructions,
    IReadOnlyDictionary<string, string>? Metadata,
    string? PreviousResponseId,
    bool Store,
    string? ReasoningEffort,
    double? Temperature = null,
    double? TopP = null,
    bool ParallelToolCalls = true,
    int? MaxOutputTokens = null,
    OutputFormat? Format = null)
{
    public string OutputItemId => ResponseMapper.OutputItemId(Id);

    /// <summary><c>response.created</c> / <c>response.in_progress</c>: no output yet.</summary>
    public ResponseObject InProgress() => Build(ResponseStatus.InProgress, [], "", null, null, null);

    public ResponseObject Completed(string text, TokenUsage usage, DateTimeOffset completedAt) =>
        Build(ResponseStatus.Completed, [ResponseMapper.Message(OutputItemId, ResponseStatus.Completed, text)], text, ResponseMapper.Usage(usage), completedAt, null);

    /// <summary>A failed (or cancelled) response; the text produced so far is kept as an incomplete message.</summary>
    public ResponseObject Failed(TurnError error, string partialText, bool itemStarted) => Build(
        error.Code == TurnErrorCodes.Cancelled ? ResponseStatus.Cancelled : ResponseStatus.Failed,
        itemStarted ? [ResponseMapper.Message(OutputItemId, ResponseStatus.Incomplete, partialText)] : [],
        partialText, null, null, new ResponseErrorObject(error.Code, error.Message));

    private ResponseObject Build(string status, IReadOnlyList<OutputMessage> output, string outputText, ResponseUsage? usage, DateTimeOffset? completedAt, ResponseErrorObject? error) => new()
    {
        Id = Id,
        CreatedAt = CreatedAt.ToUnixTimeSeconds(),
        Status = status,
        CompletedAt = completedAt?.ToUnixTimeSeconds(),
        Model = Model,
        Output = output,
        OutputText = outputText,
        Error = error,
        Instructions = Instructions,
        Metadata = Metadata ?? ResponseMapper.NoMetadata,
        PreviousResponseId = PreviousResponseId,
        Store = Store,
        MaxOutputTokens = MaxOutputTokens,
        Text = TextConfig.For(Format),
        Reasoning = new ReasoningConfig(ReasoningEffort, null),
        ParallelToolCalls = ParallelToolCalls,
        Temperature = Temperature ?? 1.0,
        TopP = TopP ?? 1.0,
        Usage = usage,
    };
}

/// <summary>Maps turns and stored responses onto OpenAI's response and input-item shapes.</summary>
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
        return new ResponseObject
        {
            Id = stored.Id,
            CreatedAt = stored.CreatedAt.ToUnixTimeSeconds(),
            Status = stored.Status,
            CompletedAt = stored.CompletedAt?.ToUnixTimeSeconds(),
            Model = stored.Model,
            Output = stored.Status == ResponseStatus.Completed || hasText ? [Message(OutputItemId(stored.Id), itemStatus, stored.OutputText)] : [],
            OutputText = stored.OutputText,
            Error = stored.Error is { } error ? new ResponseErrorObject(error.Code, error.Message) : null,
            Instructions = stored.Instructions,
            Metadata = stored.Metadata ?? NoMetadata,
            PreviousResponseId = stored.PreviousResponseId,
            Store = true,
            Reasoning = new ReasoningConfig(stored.ReasoningEffort, null),
            Text = TextConfig.For(stored.OutputFormat),
            Usage = stored.Usage is { } usage ? Usage(usage) : null,
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
