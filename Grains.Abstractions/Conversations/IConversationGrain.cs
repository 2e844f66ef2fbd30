using OrleansCodex.Cluster;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// One conversation: a tree of responses linked by <c>previous_response_id</c>. It owns the stored turns and the CLI session
/// that continues its head. Key: the conversation id (see <see cref="ResponseIds"/>).
/// </summary>
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>Runs one turn and streams its events; the last event is <see cref="TurnEventKind.Completed"/> or <see cref="TurnEventKind.Failed"/>.
    /// Cancelling ends the CLI process; the response is then stored as cancelled.</summary>
    IAsyncEnumerable<TurnEvent> RunTurn(TurnRequest request, CancellationToken cancellationToken = default);

    /// <summary>A stored response of this conversation, or null when unknown, deleted or not stored (<c>store:false</c>).</summary>
    Task<StoredResponse?> GetResponse(string responseId);

    /// <summary>Deletes a stored response; false when there was none. Later turns that branch from it keep their own history.</summary>
    Task<bool> DeleteResponse(string responseId);
}
