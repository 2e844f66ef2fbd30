using System.Diagnostics;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;
using Xunit;
using Xunit.Abstractions;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>
/// Measures one turn through a runner against the same CLI command started by hand (5 runs after a warm-up, median), so the
/// runner's own overhead is visible. Runs alone so the numbers are not skewed by parallel tests.
/// </summary>
[Collection(ProcessLifetimeCollection.Name)]
public sealed class TurnTimingTests(CliFixture fixture, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    private const int Runs = 5;

    [Fact]
    public async Task Codex_TurnThroughRunner_CostsAboutTheSameAsTheBareCli()
    {
        var runner = fixture.Codex();
        await CompareAsync("codex exec", runner, () => fixture.CodexTurn("timing") with { Ephemeral = true });
    }

    [Fact]
    public async Task Claude_TurnThroughRunner_CostsAboutTheSameAsTheBareCli()
    {
        var runner = fixture.Claude();
        await CompareAsync("claude -p", runner, () => fixture.ClaudeTurn("timing") with { Ephemeral = true });
    }

    private async Task CompareAsync(string name, CliRunnerBase runner, Func<CliTurn> newTurn)
    {
        var path = runner.Provider == Conversations.CliProvider.Codex ? fixture.Environment.CodexPath : fixture.Environment.ClaudePath;
        var viaRunner = new List<double>();
        var direct = new List<double>();
        for (var i = 0; i <= Runs; i++)
        {
            var turn = newTurn();
            var stopwatch = Stopwatch.StartNew();
            TurnEvents.AssertCompleted(await CliFixture.RunToEndAsync(runner, turn));
            var runnerMs = stopwatch.Elapsed.TotalMilliseconds;

            turn = newTurn();
            stopwatch.Restart();
            await RunDirectlyAsync(path, runner.BuildArguments(turn, fixture.Options()), turn);
            var directMs = stopwatch.Elapsed.TotalMilliseconds;
            if (i > 0)
            {
                viaRunner.Add(runnerMs);
                direct.Add(directMs);
            }
        }

        var runnerMedian = Median(viaRunner);
        var directMedian = Median(direct);
        output.WriteLine($"{name}: runner median {runnerMedian:0} ms [{string.Join(", ", viaRunner.Select(v => v.ToString("0")))}], " +
            $"bare CLI median {directMedian:0} ms [{string.Join(", ", direct.Select(v => v.ToString("0")))}]");
        Assert.True(runnerMedian < directMedian * 1.5 + 100, $"runner {runnerMedian:0} ms vs bare {directMedian:0} ms");
    }

    private async Task RunDirectlyAsync(string path, IReadOnlyList<string> arguments, CliTurn turn)
    {
        var startInfo = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = turn.WorkingDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in fixture.Environment.Environment)
        {
            startInfo.Environment[key] = value;
        }

        using var timeout = new CancellationTokenSource(CliFixture.TestTimeout);
        using var process = Process.Start(startInfo)!;
        // Claude reads its turn as one stream-json user message, as the runner sends it.
        await process.StandardInput.WriteAsync(arguments.Contains("stream-json") && turn.Provider == Conversations.CliProvider.Claude
            ? await ClaudeInput.UserMessageAsync(turn, timeout.Token) + "\n"
            : turn.Prompt);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        var stdout = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await stderr;
        await process.WaitForExitAsync(timeout.Token);
        Assert.Contains("ECHO turn=1", stdout);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
