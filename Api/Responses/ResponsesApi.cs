using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Models;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Responses;

/// <summary>The Responses API: create (streamed or not), fetch, delete, and list a response's input items.</summary>
public static class ResponsesApi
{
    public static IEndpointRouteBuilder MapResponsesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/responses").WithTags("Responses");
        api.MapPost("", CreateResponse);
        api.MapGet("/{responseId}", GetResponse);
        api.MapDelete("/{responseId}", DeleteResponse);
        api.MapGet("/{responseId}/input_items", ListInputItems);
        return app;
    }

    public static async Task<Results<JsonHttpResult<ResponseObject>, TurnStreamResult>> CreateResponse(HttpContext context, TurnGateway turns, TurnPolicy policy, ModelCatalog models)
    {
        var cancellationToken = context.RequestAborted;
        var body = await JsonRequestReader.ReadAsync(context.Request, OpenAiJsonContext.Default.CreateResponseRequest);
        var input = ResponsesRequestParser.Parse(body, policy);
        var conversationId = TurnGateway.ConversationOf(input.PreviousResponseId);
        await models.EnsureServedAsync(input.Model, cancellationToken);
        await turns.EnsureProviderAvailableAsync(input.Model, cancellationToken);

        var request = new TurnRequest
        {
            ResponseId = ResponseIds.NewResponseId(conversationId),
            Model = input.Model,
            Input = input.Input,
            Instructions = input.Instructions,
            PreviousResponseId = input.PreviousResponseId,
            Store = input.Store,
            Metadata = input.Metadata,
            CreatedAt = turns.TimeProvider.GetUtcNow(),
            Echo = new ResponseEcho(input.Temperature, input.TopP, input.ParallelToolCalls, input.MaxOutputTokens),
        }.WithControls(input.Controls);
        var log = TrackTurn(context, request, conversationId);

        if (!input.Stream)
        {
            var (_, final) = await TurnEndpoint.RunToEndAsync(turns, conversationId, request, log, cancellationToken);
            return TypedResults.Json(ResponseMapper.FromStored(final), OpenAiJsonContext.Default.ResponseObject);
        }

        var session = await TurnEndpoint.StartStreamAsync(turns, conversationId, request, log, cancellationToken);
        return new TurnStreamResult(session,
            (sse, events, ct) => new ResponsesStreamWriter(sse, session.Accepted).WriteAsync(events, ct),
            turns.Options.KeepAliveInterval);
    }

    public static async Task<JsonHttpResult<ResponseObject>> GetResponse(string responseId, TurnGateway turns) =>
        TypedResults.Json(ResponseMapper.FromStored(await FindAsync(responseId, turns)), OpenAiJsonContext.Default.ResponseObject);

    public static async Task<JsonHttpResult<ResponseDeleted>> DeleteResponse(string responseId, TurnGateway turns)
    {
        if (!ResponseIds.TryGetConversationId(responseId, out var conversationId) || !await turns.Conversation(conversationId).DeleteResponse(responseId))
        {
            throw NotFound(responseId);
        }

        return TypedResults.Json(new ResponseDeleted(responseId), OpenAiJsonContext.Default.ResponseDeleted);
    }

    public static async Task<JsonHttpResult<InputItemList>> ListInputItems(
        string responseId, TurnGateway turns, [FromQuery] string? limit, [FromQuery] string? order, [FromQuery] string? after)
    {
        var take = 20;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > 100))
        {
            throw OpenAiException.InvalidRequest($"Invalid 'limit': '{TurnValidation.Truncate(limit)}'. Use an integer from 1 to 100.", "limit", "invalid_value");
        }

        var ascending = order switch
        {
            null or "desc" => false,
            "asc" => true,
            _ => throw OpenAiException.InvalidRequest($"Invalid 'order': '{TurnValidation.Truncate(order)}'. Use 'asc' or 'desc'.", "order", "invalid_value"),
        };

        var items = ResponseMapper.InputItems(await FindAsync(responseId, turns));
        IEnumerable<InputItem> ordered = ascending ? items : items.Reverse();
        if (after is not null)
        {
            var list = ordered.ToList();
            var index = list.FindIndex(item => item.Id == after);
            if (index < 0)
            {
                throw OpenAiException.InvalidRequest($"Invalid 'after': no input item '{TurnValidation.Truncate(after)}' in response '{responseId}'.", "after", "invalid_value");
            }

            ordered = list.Skip(index + 1);
        }

        var remaining = ordered.ToList();
        var page = remaining.Take(take).ToList();
        return TypedResults.Json(new InputItemList(page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, remaining.Count > page.Count), OpenAiJsonContext.Default.InputItemList);
    }

    internal static TurnLogFeature TrackTurn(HttpContext context, TurnRequest request, string conversationId)
    {
        var log = new TurnLogFeature
        {
            ResponseId = request.ResponseId,
            ConversationId = conversationId,
            Model = request.Model,
            Provider = ModelRouting.ProviderFor(request.Model).ToString(),
        };
        context.Features.Set(log);
        return log;
    }

    private static async Task<StoredResponse> FindAsync(string responseId, TurnGateway turns) =>
        ResponseIds.TryGetConversationId(responseId, out var conversationId) && await turns.Conversation(conversationId).GetResponse(responseId) is { } stored
            ? stored
            : throw NotFound(responseId);

    private static OpenAiException NotFound(string responseId) =>
        OpenAiException.NotFound($"Response with id '{TurnValidation.Truncate(responseId)}' not found.", null, "response_not_found");
}
