using Orleans.Concurrency;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// One conversation: a tree of responses linked by <c>previous_response_id</c>. It owns the stored turns, the CLI session that
/// continues its head, and its turns while they run: a turn is started, then watched, and lives in the grain whether or not anyone
/// watches it. Key: the conversation id (see <see cref="ResponseIds"/>).
/// </summary>
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>
    /// Accepts a turn and returns at once: it runs now, or after the turns already queued on this conversation (a bounded queue;
    /// one more is refused with <see cref="TurnErrorCodes.ConversationBusy"/>). Idempotent per <see cref="TurnRequest.ResponseId"/>:
    /// starting the same response again returns the turn already accepted, and a turn whose node died before it produced anything
    /// runs again. A refusal (unknown previous response, provider not served here, queue full) is <see cref="TurnStart.Error"/>.
    /// </summary>
    Task<TurnStart> Start(TurnRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The events of a turn after <paramref name="afterSequence"/> (-1 for all), as they happen: text deltas, then exactly one
    /// terminal event (<see cref="TurnEventKind.Completed"/> or <see cref="TurnEventKind.Failed"/>) carrying the final response.
    /// Never waits behind a running turn; stopping to watch does not stop the turn (see <see cref="Cancel"/>).
    /// </summary>
    IAsyncEnumerable<TurnEvent> Watch(string responseId, int afterSequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a queued or running turn (its CLI is interrupted) and returns once it is stored as cancelled (at most about ten
    /// seconds). False when it is not queued or running here.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> Cancel(string responseId);

    /// <summary>A response of this conversation as it stands (a running turn included), or null when unknown, deleted or not stored (<c>store:false</c>).</summary>
    [AlwaysInterleave]
    Task<StoredResponse?> GetResponse(string responseId);

    /// <summary>Deletes a stored response; false when there was none. Later turns that branch from it keep their own history.</summary>
    [AlwaysInterleave]
    Task<bool> DeleteResponse(string responseId);
}

/// <summary>What <see cref="IConversationGrain.Start"/> answers.</summary>
/// <param name="Response">The response as accepted (status <c>queued</c> or <c>in_progress</c>, or its final state when it had already finished).</param>
/// <param name="Error">Why the turn was refused; nothing was stored then.</param>
/// <param name="Silo">The silo running the turn, so a caller can stop waiting as soon as membership declares it dead.</param>
[GenerateSerializer, Immutable, Alias("OrleansCodex.TurnStart")]
public sealed record TurnStart(StoredResponse? Response, TurnError? Error, SiloAddress? Silo)
{
    public static TurnStart Refused(TurnError error, SiloAddress? silo) => new(null, error, silo);
}
