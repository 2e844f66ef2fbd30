using Microsoft.Extensions.Options;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Silo.Membership;

namespace OrleansCodex.Api.Turns;

/// <summary>
/// The front end's way to conversations: starts turns (placed, in a cluster, on a silo that serves the model's CLI), and finds
/// conversations by response id. On a node that co-hosts a silo it also checks the local CLI before a turn goes to it.
/// </summary>
public sealed class TurnGateway(
    IGrainFactory grains,
    IClusterMembershipView membership,
    IOptions<ApiOptions> options,
    TimeProvider timeProvider,
    ILogger<TurnGateway> logger,
    IProviderStatusService? providerStatus = null,
    ServedProviders? served = null)
{
    public TimeProvider TimeProvider => timeProvider;

    public ApiOptions Options => options.Value;

    internal IClusterMembershipView Membership => membership;

    internal ILogger Logger => logger;

    /// <summary>503 <c>provider_unavailable</c> with the operator's instructions when this node would run the model's CLI and cannot.</summary>
    public async Task EnsureProviderAvailableAsync(string model, CancellationToken cancellationToken)
    {
        var provider = ModelRouting.ProviderFor(model);
        if (providerStatus is null || served?.Serves(provider) != true)
        {
            // A pure client, or a silo that leaves this provider to others: placement finds a silo that serves it, or answers 503.
            return;
        }

        var status = await providerStatus.GetStatusAsync(provider, cancellationToken);
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

    public IConversationGrain Conversation(string conversationId) => grains.GetGrain<IConversationGrain>(conversationId);

    /// <summary>Starts a turn and follows it (see <see cref="TurnSession"/>); a refusal is thrown as its HTTP error.</summary>
    public Task<TurnSession> StartAsync(string conversationId, TurnRequest request, CancellationToken cancellationToken)
    {
        // In a cluster, a new conversation is placed on a silo that serves the model's CLI.
        RequestContext.Set(ModelRouting.ProviderRequestContextKey, ModelRouting.ProviderName(ModelRouting.ProviderFor(request.Model)));
        return TurnSession.StartAsync(this, Conversation(conversationId), request, cancellationToken);
    }

    public OpenAiException ErrorOf(TurnError error) => OpenAiErrors.FromTurnError(error, options.Value.RetryAfterSeconds);
}
