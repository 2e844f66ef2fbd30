using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary>
/// A ten-turn conversation on one thread through the warm app-server, and the same through <c>codex exec</c>, timed. Runs alone
/// (with the other timing and process-lifetime tests) so the numbers are not skewed by parallel tests.
/// </summary>
[Collection(ProcessLifetimeCollection.Name)]
public sealed class CodexAppServerConversationTests(CliFixture fixture, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    private const int Turns = 10;

    [Fact]
    public async Task RunAsync_TenTurnsOnOneThread_EachResumesTheThreadWithItsOwnUsageInOneProcess_TimedAgainstExec()
    {
        // Arrange
        await using var app = new AppServerHarness(fixture);
        var first = fixture.CodexTurn("turn 1 words");

        // Act
        var warm = await RunConversationAsync(app.Runner, first);
        var pid = app.Pid;
        var exec = await RunConversationAsync(app.Exec, fixture.CodexTurn("turn 1 words"));

        // Assert: every turn saw all earlier ones, in the same thread and the same process.
        for (var i = 0; i < Turns; i++)
        {
            Assert.StartsWith($"ECHO turn={i + 1} prior_assistant={i} :: turn {i + 1} words", warm.Answers[i].Text);
            Assert.Equal(warm.ThreadId, warm.Answers[i].ThreadId);
        }

        Assert.StartsWith("ECHO turn=10 prior_assistant=9", warm.Answers[^1].Text);
        Assert.Single(fixture.Logs.Entries, e => e.Id.Id == 3150);
        Assert.Equal(pid, app.Pid);

        // Usage is the turn's own, never zero, and adds up to the thread's running total, as with exec.
        var total = TokenUsage.Zero;
        foreach (var answer in warm.Answers)
        {
            Assert.True(answer.Usage.InputTokens > 0 && answer.Usage.OutputTokens > 0, $"usage {answer.Usage}");
            total = new TokenUsage(total.InputTokens + answer.Usage.InputTokens, total.CachedInputTokens + answer.Usage.CachedInputTokens,
                total.OutputTokens + answer.Usage.OutputTokens, total.ReasoningTokens + answer.Usage.ReasoningTokens);
            Assert.Equal(total, answer.SessionUsage);
        }

        Assert.True(warm.Answers[^1].Usage.InputTokens > warm.Answers[0].Usage.InputTokens, "later turns send more history");
        Assert.StartsWith("ECHO turn=10 prior_assistant=9", exec.Answers[^1].Text);
        output.WriteLine(
            $"{Turns} turns on one thread: app-server median {Median(warm.Times):0} ms [{Join(warm.Times)}], " +
            $"codex exec median {Median(exec.Times):0} ms [{Join(exec.Times)}] (the first app-server turn includes starting the process)");
    }

    private static async Task<Conversation> RunConversationAsync(ICliRunner runner, CliTurn first)
    {
        var answers = new List<Answer>();
        var times = new List<double>();
        var turn = first;
        for (var i = 1; i <= Turns; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var events = await CliFixture.RunToEndAsync(runner, turn);
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
            var done = TurnEvents.AssertCompleted(events);
            answers.Add(new Answer(events[0].SessionId!, done.Text!, done.Usage!, done.SessionUsage!));
            turn = first with { Prompt = $"turn {i + 1} words", ResumeSessionId = events[0].SessionId, SessionUsageBefore = done.SessionUsage };
        }

        return new Conversation(answers[0].ThreadId, answers, times);
    }

    private static string Join(IEnumerable<double> times) =>
        string.Join(", ", times.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture)));

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private sealed record Answer(string ThreadId, string Text, TokenUsage Usage, TokenUsage SessionUsage);

    private sealed record Conversation(string ThreadId, IReadOnlyList<Answer> Answers, IReadOnlyList<double> Times);
}
