using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansCodex.Api.Responses;

/// <summary>The body of <c>POST /v1/responses</c>: the fields we use; every other documented field is accepted and ignored.
/// Polymorphic fields stay <see cref="JsonElement"/> and are parsed by <see cref="ResponsesRequestParser"/>.</summary>
public sealed class CreateResponseRequest
{
    public string? Model { get; set; }
    public JsonElement Input { get; set; }
    public string? Instructions { get; set; }
    public string? PreviousResponseId { get; set; }
    public bool? Stream { get; set; }
    public bool? Store { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    public ReasoningRequest? Reasoning { get; set; }
    public JsonElement Conversation { get; set; }
    public bool? Background { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public int? MaxOutputTokens { get; set; }

    /// <summary><c>{"format":{…}}</c>: free text, <c>json_object</c> or <c>json_schema</c>.</summary>
    public JsonElement Text { get; set; }

    /// <summary>Our extension: <c>sandbox</c>, <c>network_access</c>, <c>reasoning_effort</c>, <c>timeout</c> (see <c>TurnPolicy</c>).</summary>
    public JsonElement XCodex { get; set; }
}

public sealed class ReasoningRequest
{
    public string? Effort { get; set; }
    public string? Summary { get; set; }
}

/// <summary>OpenAI's response object.</summary>
public sealed record ResponseObject
{
    public required string Id { get; init; }
    public string Object { get; init; } = "response";
    public required long CreatedAt { get; init; }
    public required string Status { get; init; }
    public long? CompletedAt { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<OutputMessage> Output { get; init; }
    public required string OutputText { get; init; }
    public ResponseErrorObject? Error { get; init; }
    public IncompleteDetails? IncompleteDetails { get; init; }
    public string? Instructions { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    public string? PreviousResponseId { get; init; }
    public required bool Store { get; init; }
    public bool Background { get; init; }
    public int? MaxOutputTokens { get; init; }
    public TextConfig Text { get; init; } = TextConfig.Plain;
    public required ReasoningConfig Reasoning { get; init; }
    public IReadOnlyList<string> Tools { get; init; } = [];
    public string ToolChoice { get; init; } = "auto";
    public bool ParallelToolCalls { get; init; } = true;
    public double? Temperature { get; init; } = 1.0;
    public double? TopP { get; init; } = 1.0;
    public string Truncation { get; init; } = "disabled";
    public ResponseUsage? Usage { get; init; }
    public string? User { get; init; }
}

public sealed record OutputMessage(string Id, string Status, IReadOnlyList<OutputTextPart> Content)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; init; } = "message";
    public string Role { get; init; } = "assistant";
}

public sealed record OutputTextPart(string Text)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; init; } = "output_text";
    public IReadOnlyList<string> Annotations { get; init; } = [];
    public IReadOnlyList<string> Logprobs { get; init; } = [];
}

public sealed record ResponseErrorObject(string Code, string Message);

public sealed record IncompleteDetails(string Reason);

public sealed record TextConfig(TextFormat Format)
{
    public static readonly TextConfig Plain = new(new TextFormat("text"));

    /// <summary>The <c>text</c> echoed in a response: the requested JSON schema, <c>json_object</c>, or plain text.</summary>
    public static TextConfig For(Grains.Conversations.OutputFormat? format) => format switch
    {
        null => Plain,
        { Schema: { } schema } => new(new TextFormat(format.Type) { Name = format.Name, Schema = JsonDocument.Parse(schema).RootElement.Clone(), Strict = format.Strict }),
        _ => new(new TextFormat(format.Type)),
    };
}

public sealed record TextFormat(string Type)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Schema { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Strict { get; init; }
}

public sealed record ReasoningConfig(string? Effort, string? Summary);

public sealed record ResponseUsage(long InputTokens, InputTokensDetails InputTokensDetails, long OutputTokens, OutputTokensDetails OutputTokensDetails, long TotalTokens);

public sealed record InputTokensDetails(long CachedTokens);

public sealed record OutputTokensDetails(long ReasoningTokens);

/// <summary><c>DELETE /v1/responses/{id}</c>.</summary>
public sealed record ResponseDeleted(string Id)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "response";
    public bool Deleted { get; init; } = true;
}

/// <summary><c>GET /v1/responses/{id}/input_items</c>.</summary>
public sealed record InputItemList(IReadOnlyList<InputItem> Data, string? FirstId, string? LastId, bool HasMore)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "list";
}

public sealed record InputItem(string Id, string Role, IReadOnlyList<InputItemContent> Content)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; init; } = "message";
    public string Status { get; init; } = "completed";
}

public sealed record InputItemContent(string Type)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Text { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ImageUrl { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Annotations { get; init; }
}

// Streaming events. Each repeats its "type" and carries a strictly increasing sequence_number.

public sealed record ResponseLifecycleEvent(string Type, long SequenceNumber, ResponseObject Response);

public sealed record OutputItemEvent(string Type, long SequenceNumber, int OutputIndex, OutputMessage Item);

public sealed record ContentPartEvent(string Type, long SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, OutputTextPart Part);

public sealed record OutputTextDeltaEvent(string Type, long SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Delta)
{
    public IReadOnlyList<string> Logprobs { get; init; } = [];
}

public sealed record OutputTextDoneEvent(string Type, long SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Text)
{
    public IReadOnlyList<string> Logprobs { get; init; } = [];
}
