using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>A grain factory whose conversation grains play a script and store what a real conversation would store.</summary>
public sealed class FakeConversations : IGrainFactory
{
    public static readonly TokenUsage Usage = new(12, 4, 7, 2);

    /// <summary>The script every turn plays; by default "Hello" + ", world" then completion.</summary>
    public Func<TurnRequest, CancellationToken, IAsyncEnumerable<TurnEvent>> Script { get; set; } = (_, ct) => Scripts.Answer(ct, "Hello", ", world");

    public ConcurrentQueue<(string ConversationId, TurnRequest Request)> Turns { get; } = new();

    public ConcurrentDictionary<string, StoredResponse> Stored { get; } = new();

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey =>
        (TGrainInterface)(object)new Conversation(this, primaryKey);

    private sealed class Conversation(FakeConversations owner, string conversationId) : IConversationGrain
    {
        public async IAsyncEnumerable<TurnEvent> RunTurn(TurnRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            owner.Turns.Enqueue((conversationId, request));
            if (request.PreviousResponseId is { } previous && !owner.Stored.ContainsKey(previous))
            {
                yield return TurnEvent.Fail(new TurnError(TurnErrorCodes.PreviousResponseNotFound, $"Previous response with id '{previous}' not found."));
                yield break;
            }

            await foreach (var turnEvent in owner.Script(request, cancellationToken).WithCancellation(cancellationToken))
            {
                if (turnEvent.Kind == TurnEventKind.Completed && request.Store)
                {
                    owner.Stored[request.ResponseId] = new StoredResponse
                    {
                        Id = request.ResponseId,
                        ConversationId = conversationId,
                        PreviousResponseId = request.PreviousResponseId,
                        Model = request.Model,
                        Status = ResponseStatus.Completed,
                        CreatedAt = request.CreatedAt,
                        CompletedAt = request.CreatedAt.AddSeconds(1),
                        Instructions = request.Instructions,
                        Metadata = request.Metadata,
                        Input = request.Input,
                        OutputText = turnEvent.Text ?? "",
                        Usage = turnEvent.Usage,
                        ReasoningEffort = request.ReasoningEffort,
                    };
                }

                yield return turnEvent;
            }
        }

        public Task<StoredResponse?> GetResponse(string responseId) =>
            Task.FromResult(owner.Stored.TryGetValue(responseId, out var stored) && stored.ConversationId == conversationId ? stored : null);

        public Task<bool> DeleteResponse(string responseId) => Task.FromResult(owner.Stored.TryRemove(responseId, out _));
    }
}

/// <summary>Scripted turn event streams.</summary>
public static class Scripts
{
    public static async IAsyncEnumerable<TurnEvent> Answer([EnumeratorCancellation] CancellationToken cancellationToken, params string[] deltas)
    {
        yield return TurnEvent.Session("session-1");
        foreach (var delta in deltas)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return TurnEvent.Delta(delta);
        }

        yield return TurnEvent.Done(string.Concat(deltas), FakeConversations.Usage);
    }

    public static async IAsyncEnumerable<TurnEvent> Of(params TurnEvent[] events)
    {
        foreach (var turnEvent in events)
        {
            await Task.Yield();
            yield return turnEvent;
        }
    }

    /// <summary>Yields the events, waiting <paramref name="pause"/> before each one after the first.</summary>
    public static async IAsyncEnumerable<TurnEvent> Paced(TimeSpan pause, [EnumeratorCancellation] CancellationToken cancellationToken, params TurnEvent[] events)
    {
        for (var i = 0; i < events.Length; i++)
        {
            if (i > 0)
            {
                await Task.Delay(pause, cancellationToken);
            }

            yield return events[i];
        }
    }

    /// <summary>Yields the events, then throws (a broken grain call).</summary>
    public static async IAsyncEnumerable<TurnEvent> ThenThrow(params TurnEvent[] events)
    {
        foreach (var turnEvent in events)
        {
            await Task.Yield();
            yield return turnEvent;
        }

        throw new InvalidOperationException("node went away");
    }

    /// <summary>Never yields until cancelled.</summary>
    public static async IAsyncEnumerable<TurnEvent> Hang([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        yield break;
    }
}
