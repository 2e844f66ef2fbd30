using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Workers;
using Xunit;
using ServiceProcessTree = OrleansCodex.Testing.Service.ProcessTree;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary><c>Workers:Prewarm</c>: the app-server runs from node start-up and is replaced as soon as it dies, without waiting for a turn.</summary>
public sealed class CodexAppServerPrewarmerTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Start_Prewarm_StartsTheAppServerBeforeAnyTurnAndReplacesItAtOnceAfterACrash()
    {
        // Arrange
        await using var app = new AppServerHarness(fixture);
        var prewarmer = Prewarmer(app);

        // Act: the node starts; later its app-server is killed while idle.
        await prewarmer.StartAsync(CancellationToken.None);
        await AppServerHarness.WaitUntilAsync(() => app.Server.ProcessId is not null, "no app-server was started at start-up");
        var first = app.Pid;
        ServiceProcessTree.Signal(-first, 9);
        await AppServerHarness.WaitUntilAsync(() => app.Server.ProcessId is { } pid && pid != first, $"app-server pid {first} was not replaced");
        var second = app.Pid;
        var done = await app.CompleteAsync(fixture.CodexTurn("after the prewarmed restart"));
        await prewarmer.StopAsync(CancellationToken.None);

        // Assert: the turn ran in the process started for it in advance.
        Assert.False(ServiceProcessTree.IsRunning(first), $"the killed app-server pid {first} still runs");
        Assert.Equal(second, app.Pid);
        Assert.Contains("after the prewarmed restart", done.Text);
        Assert.Contains(fixture.Logs.Entries, e => e.Id.Id == 3159);
    }

    [Theory]
    [InlineData(false, CodexMode.AppServer, "codex,claude")]
    [InlineData(true, CodexMode.Exec, "codex,claude")]
    [InlineData(true, CodexMode.AppServer, "claude")]
    public async Task Start_PrewarmOffExecModeOrCodexNotServed_StartsNothing(bool prewarm, CodexMode mode, string providers)
    {
        await using var app = new AppServerHarness(fixture);
        var prewarmer = Prewarmer(app, prewarm, mode, providers);

        await prewarmer.StartAsync(CancellationToken.None);
        await prewarmer.ExecuteTask!.WaitAsync(CliFixture.TestTimeout);

        Assert.False(prewarmer.Enabled);
        Assert.Null(app.Server.ProcessId);
    }

    [Fact]
    public async Task Start_CodexMissing_LogsWhyAndTheNodeRunsOn()
    {
        await using var app = new AppServerHarness(fixture, o => o.CodexPath = "/nonexistent/codex");
        var prewarmer = Prewarmer(app);

        await prewarmer.StartAsync(CancellationToken.None);
        await AppServerHarness.WaitUntilAsync(() => fixture.Logs.Entries.Any(e => e.Id.Id == 3158), "the failed pre-warm was not logged");
        await prewarmer.StopAsync(CancellationToken.None).WaitAsync(CliFixture.TestTimeout);

        Assert.Contains("npm ci", fixture.Logs.Entries.Last(e => e.Id.Id == 3158).Message);
        Assert.True(prewarmer.ExecuteTask!.IsCompletedSuccessfully, "the pre-warm loop failed instead of ending with the node");
        Assert.Null(app.Server.ProcessId);
    }

    private CodexAppServerPrewarmer Prewarmer(AppServerHarness app, bool prewarm = true, CodexMode mode = CodexMode.AppServer, string providers = "codex,claude") =>
        new(
            app.Server,
            Options.Create(new WorkerOptions { Prewarm = prewarm }),
            Options.Create(new CliOptions { CodexMode = mode }),
            ServedProviders.Parse(providers),
            fixture.LoggerFactory().CreateLogger<CodexAppServerPrewarmer>(),
            TimeProvider.System);
}
