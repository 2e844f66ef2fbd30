using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>Runs alone, after the parallel tests, so that "no CLI child of the test process is left" means exactly that.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessLifetimeCollection
{
    public const string Name = "CLI process lifetime";
}

/// <summary>Cancellation and deadlines end the real CLI process trees, promptly.</summary>
[Collection(ProcessLifetimeCollection.Name)]
public sealed class ProcessLifetimeTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Codex_CancelledMidStream_KillsTheProcessTreeAndThrowsPromptly()
    {
        var turn = fixture.CodexTurn("slow codex", StubModelServer.MagicModels.Slow);

        await AssertCancellationKillsAsync(fixture.Codex(), turn, started: e => e.Kind == TurnEventKind.SessionStarted);
    }

    [Fact]
    public async Task Claude_CancelledMidStream_KillsTheProcessTreeAndThrowsPromptly()
    {
        var turn = fixture.ClaudeTurn("slow claude", "claude-" + StubModelServer.MagicModels.Slow);

        await AssertCancellationKillsAsync(fixture.Claude(), turn, started: e => e.Kind == TurnEventKind.TextDelta);
    }

    [Fact]
    public async Task Claude_ConsumerStopsReading_KillsTheProcess()
    {
        var runner = fixture.Claude();
        var turn = fixture.ClaudeTurn("abandoned claude", "claude-" + StubModelServer.MagicModels.Slow);
        using var timeout = new CancellationTokenSource(CliFixture.TestTimeout);

        await foreach (var turnEvent in runner.RunAsync(turn, timeout.Token))
        {
            if (turnEvent.Kind == TurnEventKind.TextDelta)
            {
                break;
            }
        }

        var pid = fixture.Logs.StartedPids[^1];
        Assert.False(ProcessTree.IsRunning(pid), $"claude pid {pid} still runs after the consumer stopped reading");
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
    }

    [Fact]
    public async Task Codex_HungStream_FailsWithTimeoutSoonAfterTheDeadline()
    {
        var turn = fixture.CodexTurn("hung codex", StubModelServer.MagicModels.Hang) with { Timeout = TimeSpan.FromSeconds(3) };

        await AssertTimesOutAsync(fixture.Codex(), turn);
    }

    [Fact]
    public async Task Claude_HungStream_FailsWithTimeoutSoonAfterTheDeadline()
    {
        var turn = fixture.ClaudeTurn("hung claude", "claude-" + StubModelServer.MagicModels.Hang) with { Timeout = TimeSpan.FromSeconds(3) };

        await AssertTimesOutAsync(fixture.Claude(), turn);
    }

    private async Task AssertCancellationKillsAsync(ICliRunner runner, CliTurn turn, Func<TurnEvent, bool> started)
    {
        using var cancellation = new CancellationTokenSource(CliFixture.TestTimeout);
        await using var events = runner.RunAsync(turn, cancellation.Token).GetAsyncEnumerator(cancellation.Token);
        while (await events.MoveNextAsync() && !started(events.Current))
        {
        }

        await WaitUntilAsync(() => fixture.Stub.ActiveStreams > 0, "the stub never saw the slow stream");
        var pid = fixture.Logs.StartedPids[^1];
        var tree = ProcessTree.Descendants(pid).Append(pid).ToArray();
        Assert.True(ProcessTree.IsRunning(pid));

        var stopwatch = Stopwatch.StartNew();
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await events.MoveNextAsync())
            {
            }
        });
        stopwatch.Stop();

        Assert.True(stopwatch.Elapsed < Prompt, $"cancellation took {stopwatch.Elapsed}");
        Assert.All(tree, p => Assert.False(ProcessTree.IsRunning(p), $"pid {p} of the CLI's tree still runs"));
        Assert.Empty(ProcessTree.CliChildrenOfThisProcess());
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
    }

    private async Task AssertTimesOutAsync(ICliRunner runner, CliTurn turn)
    {
        var stopwatch = Stopwatch.StartNew();
        var events = await CliFixture.RunToEndAsync(runner, turn);
        stopwatch.Stop();

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.Timeout);
        Assert.Contains("3 s", error.Message);
        Assert.InRange(stopwatch.Elapsed, turn.Timeout - TimeSpan.FromMilliseconds(100), turn.Timeout + TimeSpan.FromSeconds(3));
        Assert.False(ProcessTree.IsRunning(fixture.Logs.StartedPids[^1]));
        Assert.Empty(ProcessTree.CliChildrenOfThisProcess());
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(Prompt), "the upstream stream was not closed");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < CliFixture.TestTimeout / 2, failure);
            await Task.Delay(20);
        }
    }
}
