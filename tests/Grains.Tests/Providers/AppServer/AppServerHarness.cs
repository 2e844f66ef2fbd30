using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Providers.AppServer;
using OrleansCodex.Grains.Workers;
using Xunit;
using ServiceProcessTree = OrleansCodex.Testing.Service.ProcessTree;

namespace OrleansCodex.Grains.Tests.Providers.AppServer;

/// <summary>One app-server with its runner for one test, over a <see cref="CliFixture"/>'s stub and Codex home. Disposing ends the process.</summary>
internal sealed class AppServerHarness : IAsyncDisposable
{
    public AppServerHarness(CliFixture fixture, Action<CliOptions>? configure = null)
    {
        Fixture = fixture;
        var options = new FixedOptionsMonitor<CliOptions>(fixture.Options(configure));
        var loggers = fixture.LoggerFactory();
        Exec = new CodexExecRunner(options, loggers.CreateLogger<CodexExecRunner>(), TimeProvider.System);
        Server = new CodexAppServer(options, Exec, loggers.CreateLogger<CodexAppServer>(), TimeProvider.System);
        Runner = new CodexAppServerRunner(Server, Exec, options, loggers.CreateLogger<CodexAppServerRunner>(), TimeProvider.System);
    }

    public CliFixture Fixture { get; }

    public CodexExecRunner Exec { get; }

    public CodexAppServer Server { get; }

    public CodexAppServerRunner Runner { get; }

    /// <summary>The running app-server's pid; fails the test if there is none.</summary>
    public int Pid => Server.ProcessId ?? throw new Xunit.Sdk.XunitException("no app-server is running");

    /// <summary>Runs a turn to its end (bounded by <see cref="CliFixture.TestTimeout"/>) and returns all its events.</summary>
    public Task<List<TurnEvent>> RunAsync(CliTurn turn) => CliFixture.RunToEndAsync(Runner, turn);

    /// <summary>Runs a turn that must complete and returns its terminal event.</summary>
    public async Task<TurnEvent> CompleteAsync(CliTurn turn) => TurnEvents.AssertCompleted(await RunAsync(turn));

    /// <summary>
    /// SIGKILL to the app-server's whole process group, as a crash or an OOM kill would; waits until it is gone and reaped.
    /// (Its main thread shows as a zombie while the other threads still exit with its pipes open: a request written then is
    /// delivered to a dying process, and that turn fails, as it should. Reaped is what a later, idle-time turn finds.)
    /// </summary>
    public async Task KillProcessGroupAsync()
    {
        var pid = Pid;
        ServiceProcessTree.Signal(-pid, 9);
        await WaitUntilAsync(() => !ServiceProcessTree.IsRunning(pid) && Server.ProcessId is null, $"app-server pid {pid} survived SIGKILL");
    }

    /// <summary>Live processes started with this fixture's Codex home: the app-server and anything it started, wherever reparented.</summary>
    public IReadOnlyList<ServiceProcessTree.Entry> CodexProcesses() =>
        ServiceProcessTree.WithEnvironmentEntry($"CODEX_HOME={Fixture.Environment.CodexHome}");

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    public static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < CliFixture.TestTimeout / 2, failure);
            await Task.Delay(20);
        }
    }
}
