using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Silo.Membership;

namespace OrleansCodex.Api.Tests.Turns;

/// <summary>How a request follows a turn its conversation owns: peeking, keep-alive ticks, cancelling when the client leaves.</summary>
public sealed class TurnSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeConversations _conversations = new();

    private Task<TurnSession> StartAsync(Func<TurnRequest, CancellationToken, IAsyncEnumerable<TurnEvent>> script, string? previousResponseId = null)
    {
        _conversations.Script = script;
        var gateway = new TurnGateway(_conversations, new NoDeaths(), Microsoft.Extensions.Options.Options.Create(new ApiOptions()), TimeProvider.System,
            NullLogger<TurnGateway>.Instance);
        var conversationId = ResponseIds.NewConversationId();
        var request = new TurnRequest
        {
            ResponseId = ResponseIds.NewResponseId(conversationId),
            Model = "gpt-5.5",
            Input = [InputMessage.User("hi")],
            PreviousResponseId = previousResponseId,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        return gateway.StartAsync(conversationId, request, CancellationToken.None);
    }

    [Fact]
    public async Task StartAsync_ConversationRefusesTheTurn_ThrowsItsHttpError()
    {
        var error = await Assert.ThrowsAsync<OpenAiException>(() => StartAsync((_, ct) => Scripts.Answer(ct, "x"), previousResponseId: "resp_unknown"));

        Assert.Equal(404, error.StatusCode);
        Assert.Equal(TurnErrorCodes.PreviousResponseNotFound, error.Code);
        Assert.Equal("previous_response_id", error.Param);
    }

    [Fact]
    public async Task PeekAsync_FailureFirst_ReturnsItAndStillDeliversIt()
    {
        var failure = TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamAuth, "log in"));
        await using var session = await StartAsync((_, _) => Scripts.Of(TurnEvent.Session("s"), failure));

        var peeked = await session.PeekAsync(Bound, CancellationToken.None);
        var all = await Collect(session.ReadAllAsync(Bound));

        Assert.Equal(TurnEventKind.Failed, peeked?.Kind);
        Assert.Equal(TurnErrorCodes.UpstreamAuth, peeked?.Error?.Code);
        Assert.Equal([TurnEventKind.Failed], all.Select(e => e!.Kind));
    }

    [Fact]
    public async Task PeekAsync_SilentTurn_GivesUpAfterTheWait()
    {
        await using var session = await StartAsync((_, ct) => Scripts.Hang(ct));

        var peeked = await session.PeekAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None);

        Assert.Null(peeked);
    }

    [Fact]
    public async Task DisposeAsync_BeforeTheTerminalEvent_CancelsTheTurn()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var session = await StartAsync((_, ct) => Hang(ct, cancelled));
        Assert.Null(await session.PeekAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));

        await session.DisposeAsync().AsTask().WaitAsync(Bound);

        await cancelled.Task.WaitAsync(Bound);
        Assert.Single(_conversations.Cancelled);

        static async IAsyncEnumerable<TurnEvent> Hang([EnumeratorCancellation] CancellationToken ct, TaskCompletionSource cancelled)
        {
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }

            yield break;
        }
    }

    [Fact]
    public async Task DisposeAsync_AfterTheTerminalEvent_DoesNotCancelTheTurn()
    {
        var session = await StartAsync((_, ct) => Scripts.Answer(ct, "x"));

        Assert.Equal(TurnEventKind.Completed, (await session.ReadToEndAsync(CancellationToken.None)).Kind);
        await session.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Empty(_conversations.Cancelled);
    }

    [Fact]
    public async Task ReadAllAsync_SilenceLongerThanKeepAlive_YieldsTicksBetweenEvents()
    {
        using var cancellation = new CancellationTokenSource(Bound);
        await using var session = await StartAsync(
            (_, ct) => Scripts.Paced(TimeSpan.FromMilliseconds(400), ct, TurnEvent.Delta("a"), TurnEvent.Done("a", TokenUsage.Zero)));

        var all = await Collect(session.ReadAllAsync(TimeSpan.FromMilliseconds(100), cancellation.Token));

        Assert.Equal(TurnEventKind.TextDelta, all[0]!.Kind);
        Assert.Equal(TurnEventKind.Completed, all[^1]!.Kind);
        Assert.Contains(null, all);
    }

    [Fact]
    public async Task ReadToEndAsync_CompletedTurn_ReturnsTheTerminalEventWithTheFinalResponse()
    {
        await using var session = await StartAsync((_, ct) => Scripts.Answer(ct, "a", "b"));

        var last = await session.ReadToEndAsync(CancellationToken.None);

        Assert.Equal(TurnEventKind.Completed, last.Kind);
        Assert.Equal("ab", last.Text);
        Assert.Equal(ResponseStatus.Completed, last.Response?.Status);
        Assert.Equal(session.Accepted.Id, last.Response?.Id);
    }

    [Fact]
    public async Task ReadToEndAsync_StreamBreaksWithoutATerminalEvent_EndsWithAFailureNotAHang()
    {
        await using var session = await StartAsync((_, _) => Scripts.ThenThrow(TurnEvent.Delta("x")));

        var last = await session.ReadToEndAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(TurnEventKind.Failed, last.Kind);
        Assert.Equal(TurnErrorCodes.ServerError, last.Error?.Code);
    }

    private static async Task<List<TurnEvent?>> Collect(IAsyncEnumerable<TurnEvent?> events)
    {
        var list = new List<TurnEvent?>();
        await foreach (var turnEvent in events)
        {
            list.Add(turnEvent);
        }

        return list;
    }

    /// <summary>A membership in which no silo ever dies.</summary>
    private sealed class NoDeaths : IClusterMembershipView
    {
        public IReadOnlyList<KnownSilo> Members => [];

        public Task WhenDeadAsync(SiloAddress silo, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
