using System.Text.Json.Serialization;
using OrleansCodex.Api.ChatCompletions;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Health;
using OrleansCodex.Api.Models;
using OrleansCodex.Api.Responses;

namespace OrleansCodex.Api.Json;

/// <summary>Source-generated (de)serialisation of every body the API reads or writes, with OpenAI's snake_case names.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(OpenAiErrorEnvelope))]
[JsonSerializable(typeof(CreateResponseRequest))]
[JsonSerializable(typeof(ResponseObject))]
[JsonSerializable(typeof(ResponseDeleted))]
[JsonSerializable(typeof(InputItemList))]
[JsonSerializable(typeof(ResponseLifecycleEvent))]
[JsonSerializable(typeof(OutputItemEvent))]
[JsonSerializable(typeof(ContentPartEvent))]
[JsonSerializable(typeof(OutputTextDeltaEvent))]
[JsonSerializable(typeof(OutputTextDoneEvent))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ChatCompletionUsageChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelObject))]
[JsonSerializable(typeof(HealthReport))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext;
