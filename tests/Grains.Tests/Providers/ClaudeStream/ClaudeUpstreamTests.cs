using System.Diagnostics;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers.ClaudeStream;

/// <summary>A model server that refuses connections fails a Claude turn fast (bounded retries), in both modes, without a hang.</summary>
public sealed class ClaudeUpstreamTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Theory]
    [InlineData(ClaudeMode.Print)]
    [InlineData(ClaudeMode.Stream)]
    public async Task RunAsync_UpstreamRefusesConnections_FailsFastWithUpstreamError(ClaudeMode mode)
    {
        void Refused(CliOptions options) => options.ExtraEnvironment["ANTHROPIC_BASE_URL"] = $"http://127.0.0.1:{CliFixture.ClosedPort()}";
        await using var harness = new ClaudeStreamHarness(fixture, Refused);
        ICliRunner runner = mode == ClaudeMode.Stream ? harness.Runner : fixture.Claude(Refused);

        var stopwatch = Stopwatch.StartNew();
        var events = await CliFixture.RunToEndAsync(runner, fixture.ClaudeTurn($"nobody listens {mode}"));
        stopwatch.Stop();

        var error = TurnEvents.AssertFailed(events, TurnErrorCodes.UpstreamError);
        Assert.Contains("connect", error.Message, StringComparison.OrdinalIgnoreCase);
        // Cli:ClaudeMaxRetries (2) bounds Claude's own retries; its default of 10 would take about 3 minutes.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}");
    }
}
