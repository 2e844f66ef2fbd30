using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Api.Tests.Turns;

public sealed class TurnSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PeekAsync_FailureFirst_ReturnsItAndStillDeliversIt()
    {
        var failure = TurnEvent.Fail(new TurnError(TurnErrorCodes.PreviousResponseNotFound, "nope"));
        await using var session = TurnSession.Start(_ => Scripts.Of(TurnEvent.Session("s"), failure), TimeProvider.System, CancellationToken.None);

        var peeked = await session.PeekAsync(Bound, CancellationToken.None);
        var all = await Collect(session.ReadAllAsync(Bound));

        Assert.Same(failure, peeked);
        Assert.Equal([TurnEventKind.SessionStarted, TurnEventKind.Failed], all.Select(e => e!.Kind));
    }

    [Fact]
    public async Task PeekAsync_SilentTurn_GivesUpAfterTheWait()
    {
        using var cancellation = new CancellationTokenSource(Bound);
        await using var session = TurnSession.Start(Scripts.Hang, TimeProvider.System, cancellation.Token);

        var peeked = await session.PeekAsync(TimeSpan.FromMilliseconds(50), cancellation.Token);

        Assert.Null(peeked);
    }

    [Fact]
    public async Task DisposeAsync_BeforeTheTerminalEvent_CancelsTheTurn()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var session = TurnSession.Start(ct => Hang(ct, cancelled), TimeProvider.System, CancellationToken.None);
        Assert.Null(await session.PeekAsync(TimeSpan.FromMilliseconds(20), CancellationToken.None));

        await session.DisposeAsync().AsTask().WaitAsync(Bound);

        await cancelled.Task.WaitAsync(Bound);

        static async IAsyncEnumerable<TurnEvent> Hang([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, TaskCompletionSource cancelled)
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
    public async Task DisposeAsync_AfterTheTerminalEvent_LetsTheTurnFinish()
    {
        var finished = false;
        var session = TurnSession.Start(_ => DoneThenBookkeeping(() => finished = true), TimeProvider.System, CancellationToken.None);

        Assert.Equal(TurnEventKind.Completed, (await session.ReadToEndAsync(CancellationToken.None))!.Kind);
        await session.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.True(finished);

        static async IAsyncEnumerable<TurnEvent> DoneThenBookkeeping(Action finish)
        {
            yield return TurnEvent.Done("x", TokenUsage.Zero);
            await Task.Delay(10);
            finish();
        }
    }

    [Fact]
    public async Task ReadAllAsync_SilenceLongerThanKeepAlive_YieldsTicksBetweenEvents()
    {
        using var cancellation = new CancellationTokenSource(Bound);
        await using var session = TurnSession.Start(
            ct => Scripts.Paced(TimeSpan.FromMilliseconds(400), ct, TurnEvent.Delta("a"), TurnEvent.Done("a", TokenUsage.Zero)), TimeProvider.System, cancellation.Token);

        var all = await Collect(session.ReadAllAsync(TimeSpan.FromMilliseconds(100), cancellation.Token));

        Assert.Equal(TurnEventKind.TextDelta, all[0]!.Kind);
        Assert.Equal(TurnEventKind.Completed, all[^1]!.Kind);
        Assert.Contains(null, all);
    }

    [Fact]
    public async Task ReadToEndAsync_CompletedTurn_ReturnsTheTerminalEvent()
    {
        await using var session = TurnSession.Start(ct => Scripts.Answer(ct, "a", "b"), TimeProvider.System, CancellationToken.None);

        var last = await session.ReadToEndAsync(CancellationToken.None);

        Assert.Equal(TurnEventKind.Completed, last!.Kind);
        Assert.Equal("ab", last.Text);
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
}
