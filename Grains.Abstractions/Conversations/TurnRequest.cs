namespace OrleansCodex.Grains.Conversations;

/// <summary>One turn asked of a conversation, already validated by the front end.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.TurnRequest")]
public sealed record TurnRequest
{
    /// <summary>The id the new response gets (assigned by the caller, so it can be announced before the turn starts; also the idempotence key).</summary>
    [Id(0)] public required string ResponseId { get; init; }

    /// <summary>A validated model name; it selects the provider (see <see cref="ModelRouting"/>).</summary>
    [Id(1)] public required string Model { get; init; }

    /// <summary>The new input of this turn (not the history).</summary>
    [Id(2)] public required IReadOnlyList<InputMessage> Input { get; init; }

    /// <summary>System/developer instructions for this turn only; never carried over to the next turn.</summary>
    [Id(3)] public string? Instructions { get; init; }

    /// <summary>The response this turn continues, or null for the first turn of a new conversation.</summary>
    [Id(4)] public string? PreviousResponseId { get; init; }

    /// <summary>False: the response is neither stored nor continuable, and the conversation's session is left untouched.</summary>
    [Id(5)] public bool Store { get; init; } = true;

    [Id(6)] public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Requested reasoning effort (<c>low</c>, <c>medium</c>, <c>high</c>…), or null for the CLI's default.</summary>
    [Id(7)] public string? ReasoningEffort { get; init; }

    /// <summary>A per-request deadline lower than the server's turn timeout, or null.</summary>
    [Id(8)] public TimeSpan? Timeout { get; init; }

    /// <summary>The Codex sandbox for this turn (<c>read-only</c>, <c>workspace-write</c>, <c>danger-full-access</c>), already checked
    /// against the server's policy by the front end; null for the server's setting.</summary>
    [Id(9)] public string? Sandbox { get; init; }

    /// <summary>Whether tool commands may reach the network (Codex <c>workspace-write</c> only), already checked against the server's
    /// policy; null for the server's setting.</summary>
    [Id(10)] public bool? NetworkAccess { get; init; }

    /// <summary>A JSON schema the answer must follow (<c>text.format</c> / <c>response_format</c> of type <c>json_schema</c>), or null for free text.</summary>
    [Id(11)] public OutputFormat? OutputFormat { get; init; }

    /// <summary>When the front end accepted the request.</summary>
    [Id(12)] public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Request parameters the response echoes as given (see <see cref="ResponseEcho"/>), or null for OpenAI's defaults.</summary>
    [Id(13)] public ResponseEcho? Echo { get; init; }
}

/// <summary>
/// Request parameters that the CLIs have no switch for and that cannot change an answer's meaning: accepted, stored with the
/// response and echoed as the client sent them (documented as echoed only).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.ResponseEcho")]
public sealed record ResponseEcho(double? Temperature = null, double? TopP = null, bool ParallelToolCalls = true, int? MaxOutputTokens = null)
{
    public static ResponseEcho Default { get; } = new();
}

/// <summary>A message of the input: role <c>user</c>, <c>system</c>, <c>developer</c> or <c>assistant</c>.</summary>
[GenerateSerializer, Immutable, Alias("OrleansCodex.InputMessage")]
public sealed record InputMessage(string Role, IReadOnlyList<ContentPart> Content)
{
    public static InputMessage User(string text) => new("user", [ContentPart.FromText(text)]);

    /// <summary>All text parts joined by blank lines.</summary>
    public string Text => string.Join("\n\n", Content.Where(c => c.Text is not null).Select(c => c.Text));
}

/// <summary>A part of a message: <c>input_text</c>, <c>output_text</c> or <c>input_image</c>.</summary>
/// <param name="ImageUrl">For <c>input_image</c>: a <c>data:image/...;base64,</c> URL (checked by the front end), or an
/// <c>https</c> URL when the server allows remote images.</param>
[GenerateSerializer, Immutable, Alias("OrleansCodex.ContentPart")]
public sealed record ContentPart(string Type, string? Text = null, string? ImageUrl = null)
{
    public static ContentPart FromText(string text) => new("input_text", text);
}

/// <summary>
/// A structured-output request: <c>json_schema</c> (the answer is one JSON value matching <paramref name="Schema"/>) or
/// <c>json_object</c> (one JSON object of any shape).
/// </summary>
/// <param name="Type"><see cref="JsonSchemaType"/> or <see cref="JsonObjectType"/>.</param>
/// <param name="Name">For <c>json_schema</c>: the schema's name (letters, digits, <c>_</c> and <c>-</c>, at most 64).</param>
/// <param name="Schema">For <c>json_schema</c>: the JSON schema, as JSON text (an object).</param>
/// <param name="Strict">For <c>json_schema</c>: whether the client asked for strict schema adherence.</param>
[GenerateSerializer, Immutable, Alias("OrleansCodex.OutputFormat")]
public sealed record OutputFormat(string Type, string? Name = null, string? Schema = null, bool Strict = false)
{
    public const string JsonSchemaType = "json_schema";
    public const string JsonObjectType = "json_object";

    public static OutputFormat JsonObject { get; } = new(JsonObjectType);

    public static OutputFormat ForSchema(string name, string schema, bool strict) => new(JsonSchemaType, name, schema, strict);
}
