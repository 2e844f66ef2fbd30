using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Api.Turns;

/// <summary>
/// Starts turns on conversation grains. The grain factory and provider status come from the silo and are resolved per call,
/// so the front end does not depend on the order in which the silo registers them.
/// </summary>
public sealed class TurnGateway(IServiceProvider services, IOptions<ApiOptions> options, TimeProvider timeProvider)
{
    public TimeProvider TimeProvider => timeProvider;

    public ApiOptions Options => options.Value;

    /// <summary>503 <c>provider_unavailable</c> with the operator's instructions when the model's CLI cannot run on this node.</summary>
    public async Task EnsureProviderAvailableAsync(string model, CancellationToken cancellationToken)
    {
        if (services.GetService<IProviderStatusService>() is not { } statusService)
        {
            // No status service: the turn itself reports provider_unavailable.
            return;
        }

        var status = await statusService.GetStatusAsync(ModelRouting.ProviderFor(model), cancellationToken);
        if (!status.Available)
        {
            throw new OpenAiException(StatusCodes.Status503ServiceUnavailable,
                status.Message ?? $"The {status.Provider} CLI is not available on this server.",
                OpenAiErrorTypes.ServiceUnavailable, null, TurnErrorCodes.ProviderUnavailable, options.Value.RetryAfterSeconds);
        }
    }

    /// <summary>The conversation a <c>previous_response_id</c> belongs to, or a 404 <c>previous_response_not_found</c>.</summary>
    public static string ConversationOf(string? previousResponseId)
    {
        if (previousResponseId is null)
        {
            return ResponseIds.NewConversationId();
        }

        return ResponseIds.TryGetConversationId(previousResponseId, out var conversationId)
            ? conversationId
            : throw PreviousNotFound(previousResponseId);
    }

    public static OpenAiException PreviousNotFound(string previousResponseId) => OpenAiException.NotFound(
        $"Previous response with id '{TurnValidation.Truncate(previousResponseId)}' not found.", "previous_response_id", TurnErrorCodes.PreviousResponseNotFound);

    public IConversationGrain Conversation(string conversationId) => GrainFactory().GetGrain<IConversationGrain>(conversationId);

    public TurnSession Start(string conversationId, TurnRequest request, CancellationToken cancellationToken)
    {
        // In a cluster, a new conversation is placed on a node that serves the model's CLI.
        RequestContext.Set(ModelRouting.ProviderRequestContextKey, ModelRouting.ProviderName(ModelRouting.ProviderFor(request.Model)));
        return TurnSession.Start(token => Conversation(conversationId).RunTurn(request, token), timeProvider, cancellationToken);
    }

    public OpenAiException ErrorOf(TurnError error) => OpenAiErrors.FromTurnError(error, options.Value.RetryAfterSeconds);

    private IGrainFactory GrainFactory() =>
        services.GetService<IGrainFactory>()
        ?? throw new InvalidOperationException("No grain runtime is registered (IGrainFactory); AddOrleansCodexSilo() must register it.");
}
