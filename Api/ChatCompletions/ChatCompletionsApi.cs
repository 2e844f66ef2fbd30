using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Models;
using OrleansCodex.Api.Responses;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.ChatCompletions;

/// <summary>Chat Completions: stateless, so each call is a new conversation seeded with the whole message list and not stored.</summary>
public static class ChatCompletionsApi
{
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/chat").WithTags("Chat");
        api.MapPost("/completions", CreateChatCompletion);
        return app;
    }

    public static async Task<Results<JsonHttpResult<ChatCompletion>, TurnStreamResult>> CreateChatCompletion(HttpContext context, TurnGateway turns, TurnPolicy policy, ModelCatalog models)
    {
        var cancellationToken = context.RequestAborted;
        var body = await JsonRequestReader.ReadAsync(context.Request, OpenAiJsonContext.Default.ChatCompletionRequest);
        var input = ChatRequestParser.Parse(body, policy);
        await models.EnsureServedAsync(input.Model, cancellationToken);
        await turns.EnsureProviderAvailableAsync(input.Model, cancellationToken);

        var conversationId = ResponseIds.NewConversationId();
        var request = new TurnRequest
        {
            ResponseId = ResponseIds.NewResponseId(conversationId),
            Model = input.Model,
            Input = input.Input,
            Instructions = input.Instructions,
            Store = false,
            Metadata = input.Metadata,
            CreatedAt = turns.TimeProvider.GetUtcNow(),
        }.WithControls(input.Controls);
        var template = new ChatCompletionTemplate(
            "chatcmpl-" + request.ResponseId["resp_".Length..], request.CreatedAt.ToUnixTimeSeconds(), request.Model, input.IncludeUsage);
        var log = ResponsesApi.TrackTurn(context, request, conversationId);

        if (!input.Stream)
        {
            var (completed, _) = await TurnEndpoint.RunToEndAsync(turns, conversationId, request, log, cancellationToken);
            return TypedResults.Json(template.Completed(completed.Text ?? "", completed.Usage ?? TokenUsage.Zero), OpenAiJsonContext.Default.ChatCompletion);
        }

        var session = await TurnEndpoint.StartStreamAsync(turns, conversationId, request, log, cancellationToken);
        return new TurnStreamResult(session,
            (sse, events, ct) => new ChatStreamWriter(sse, template, turns.Options.RetryAfterSeconds).WriteAsync(events, ct),
            turns.Options.KeepAliveInterval);
    }
}
