using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.TestDoubles;

/// <summary>
/// A grain factory whose conversation grains play a script for each turn and store what a real conversation would store. It tests
/// the HTTP layer only (shapes, streaming, errors, cancellation); the grain itself is tested on a real silo (Grains.Tests) and
/// end to end.
/// </summary>
public sealed class FakeConversations : IGrainFactory
{
    public static readonly TokenUsage Usage = new(12, 4, 7, 2);

    /// <summary>The script every turn plays; by default "Hello" + ", world" then completion.</summary>
    public Func<TurnRequest, CancellationToken, IAsyncEnumerable<TurnEvent>> Script { get; set; } = (_, ct) => Scripts.Answer(ct, "Hello", ", world");

    public ConcurrentQueue<(string ConversationId, TurnRequest Request)> Turns { get; } = new();

    public ConcurrentDictionary<string, StoredResponse> Stored { get; } = new();

    /// <summary>Responses whose turns were cancelled through <see cref="IConversationGrain.Cancel"/>.</summary>
    public ConcurrentBag<string> Cancelled { get; } = [];

    private readonly ConcurrentDictionary<string, FakeTurn> _runs = new();

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithStringKey =>
        (TGrainInterface)(object)new Conversation(this, primaryKey);

    public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();
    public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();
    public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();
    public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();
    public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
    public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
    public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();
    public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();
    public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();
    public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
    public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
    public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable => throw new NotSupportedException();
    public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();
    public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();
    public IAddressable GetGrain(Type interfaceType, IdSpan grainKey, string grainClassNamePrefix) => throw new NotSupportedException();
    public IAddressable GetGrain(Type interfaceType, IdSpan grainKey) => throw new NotSupportedException();

    private sealed class Conversation(FakeConversations owner, string conversationId) : IConversationGrain
    {
        public Task<TurnStart> Start(TurnRequest request, CancellationToken cancellationToken = default)
        {
            if (owner._runs.TryGetValue(request.ResponseId, out var known))
            {
                return Task.FromResult(new TurnStart(known.Accepted, null, null));
            }

            owner.Turns.Enqueue((conversationId, request));
            if (request.PreviousResponseId is { } previous && !owner.Stored.ContainsKey(previous))
            {
                return Task.FromResult(TurnStart.Refused(
                    new TurnError(TurnErrorCodes.PreviousResponseNotFound, $"Previous response with id '{previous}' not found.", "previous_response_id"), null));
            }

            var run = owner._runs.GetOrAdd(request.ResponseId, _ => new FakeTurn(owner, conversationId, request));
            return Task.FromResult(new TurnStart(run.Accepted, null, null));
        }

        public IAsyncEnumerable<TurnEvent> Watch(string responseId, int afterSequence, CancellationToken cancellationToken = default) =>
            owner._runs[responseId].RunAsync(cancellationToken);

        public Task<bool> Cancel(string responseId)
        {
            owner.Cancelled.Add(responseId);
            return Task.FromResult(owner._runs.TryGetValue(responseId, out var run) && run.Cancel());
        }

        public Task<StoredResponse?> GetResponse(string responseId) =>
            Task.FromResult(owner.Stored.TryGetValue(responseId, out var stored) && stored.ConversationId == conversationId ? stored : null);

        public Task<bool> DeleteResponse(string responseId) => Task.FromResult(owner.Stored.TryRemove(responseId, out _));
    }

    /// <summary>One turn: plays the script once, for its first watcher, and stores the completed response.</summary>
    private sealed class FakeTurn(FakeConversations owner, string conversationId, TurnRequest request)
    {
        private readonly CancellationTokenSource _cancellation = new();

        public StoredResponse Accepted { get; } = StoredResponse.Accepted(request, conversationId);

        public bool Cancel()
        {
            _cancellation.Cancel();
            return true;
        }

        public async IAsyncEnumerable<TurnEvent> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token);
            var sequence = 0;
            var text = new System.Text.StringBuilder();
            await foreach (var turnEvent in owner.Script(request, linked.Token).WithCancellation(linked.Token))
            {
                switch (turnEvent.Kind)
                {
                    case TurnEventKind.SessionStarted:
                        continue;
                    case TurnEventKind.TextDelta:
                        text.Append(turnEvent.Text);
                        yield return turnEvent with { Sequence = sequence++ };
                        continue;
                    case TurnEventKind.Completed:
                        var completed = Accepted with
                        {
                            Status = ResponseStatus.Completed, CompletedAt = request.CreatedAt.AddSeconds(1), OutputText = turnEvent.Text ?? text.ToString(), Usage = turnEvent.Usage,
                        };
                        if (request.Store)
                        {
                            owner.Stored[request.ResponseId] = completed;
                        }

                        yield return turnEvent with { Sequence = sequence++, Response = completed };
                        yield break;
                    case TurnEventKind.Failed:
                        var failed = Accepted with
                        {
                            Status = turnEvent.Error?.Code == TurnErrorCodes.Cancelled ? ResponseStatus.Cancelled : ResponseStatus.Failed, OutputText = text.ToString(), Error = turnEvent.Error,
                        };
                        yield return turnEvent with { Sequence = sequence++, Response = failed };
                        yield break;
                }
            }
        }
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
