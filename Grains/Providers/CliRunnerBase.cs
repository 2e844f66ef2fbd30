using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers;

/// <summary>Reads one CLI's JSONL events into <see cref="TurnEvent"/>s. One instance per turn.</summary>
internal interface ICliTurnParser
{
    /// <summary>Non-terminal events (session, text) for one stdout JSON line.</summary>
    IEnumerable<TurnEvent> OnEvent(JsonElement line);

    /// <summary>After the process exited: any last text, then exactly one terminal event.</summary>
    IEnumerable<TurnEvent> Finish(int exitCode, string stderrTail);
}

/// <summary>
/// What both per-turn runners share: checking the turn, starting the CLI with the prompt on stdin, enforcing the deadline,
/// killing the process tree on cancellation, and the availability check. Subclasses build the command line and parse the events.
/// </summary>
public abstract partial class CliRunnerBase : ICliRunner
{
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(10);

    private protected CliRunnerBase(IOptionsMonitor<CliOptions> options, ILogger logger, TimeProvider timeProvider)
    {
        Options = options;
        Logger = logger;
        Time = timeProvider;
    }

    public abstract CliProvider Provider { get; }

    private protected IOptionsMonitor<CliOptions> Options { get; }

    private protected ILogger Logger { get; }

    private protected TimeProvider Time { get; }

    private protected string Name => Provider == CliProvider.Codex ? "Codex" : "Claude Code";

    public async IAsyncEnumerable<TurnEvent> RunAsync(CliTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(turn);
        var options = Options.CurrentValue;
        CliTurnValidation.Validate(turn, Provider);
        var executable = CliExecutableLocator.Resolve(Provider, ConfiguredPath(options));
        if (executable.Path is null)
        {
            yield return Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, executable.Problem!));
            yield break;
        }

        Directory.CreateDirectory(turn.WorkingDirectory);
        if (await PrepareAsync(turn, cancellationToken) is { } unsupported)
        {
            yield return Fail(unsupported);
            yield break;
        }

        var command = new CliCommand(Provider, executable.Path, BuildArguments(turn, options), turn.WorkingDirectory, BuildEnvironment(options));
        var parser = CreateParser(turn);
        var timeout = turn.Timeout > TimeSpan.Zero ? turn.Timeout : options.TurnTimeout;
        var idleTimeout = turn.IdleTimeout is { } idle && idle > TimeSpan.Zero ? idle : Timeout.InfiniteTimeSpan;

        using var deadline = new CancellationTokenSource(timeout, Time);
        using var silence = new CancellationTokenSource(idleTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, silence.Token);
        var (process, startError) = CliProcess.TryStart(command, Logger, Time);
        if (process is null)
        {
            yield return Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, $"The {Name} CLI {startError}. {CliExecutableLocator.InstallHint(Provider)}"));
            yield break;
        }

        await using (process)
        {
            await process.WriteStdinAndCloseAsync(await StdinAsync(turn, linked.Token), linked.Token);

            while (await ReadEventAsync(process, linked.Token) is { } line)
            {
                silence.CancelAfter(idleTimeout);
                using (line)
                {
                    foreach (var turnEvent in parser.OnEvent(line.RootElement))
                    {
                        yield return turnEvent;
                    }
                }
            }

            var exitCode = linked.IsCancellationRequested ? null : await WaitForExitAsync(process, linked.Token);
            if (exitCode is null && linked.IsCancellationRequested)
            {
                var timedOut = deadline.IsCancellationRequested;
                await process.KillAsync(cancellationToken.IsCancellationRequested ? "turn cancelled"
                    : timedOut ? $"deadline of {timeout} passed" : $"no output for {idleTimeout}");
                cancellationToken.ThrowIfCancellationRequested();
                var error = timedOut ? CliErrors.DeadlinePassed(Name, timeout, "stopped") : CliErrors.NoOutput(Name, idleTimeout, "stopped");
                CliLog.TurnFailed(Logger, Provider, error.Code, error.Message);
                yield return Fail(error);
                yield break;
            }

            if (exitCode is null)
            {
                await process.KillAsync($"still running {ExitGrace.TotalSeconds:0} s after its output ended");
                exitCode = -1;
            }

            foreach (var turnEvent in parser.Finish(exitCode.Value, process.StderrTail))
            {
                if (turnEvent.Kind == TurnEventKind.Failed)
                {
                    CliLog.TurnFailed(Logger, Provider, turnEvent.Error!.Code, turnEvent.Error.Message);
                }

                yield return turnEvent;
            }
        }
    }

    public async Task<ProviderStatus> CheckAsync(CancellationToken cancellationToken)
    {
        var options = Options.CurrentValue;
        var executable = CliExecutableLocator.Resolve(Provider, ConfiguredPath(options));
        if (executable.Path is null)
        {
            return Report(new ProviderStatus(Provider, false, executable.Problem, null, null));
        }

        var environment = BuildEnvironment(options);
        var versionProbe = await ProbeAsync(executable.Path, ["--version"], environment, options, cancellationToken);
        var version = VersionNumber().Match(versionProbe.Stdout) is { Success: true } match ? match.Value : null;
        if (versionProbe.ExitCode != 0 || version is null)
        {
            var why = versionProbe.TimedOut ? $"did not answer within {options.StatusCheckTimeout.TotalSeconds:0.#} s"
                : versionProbe.ExitCode is null ? versionProbe.Stderr
                : $"exited with code {versionProbe.ExitCode}: {CliErrors.MostRelevantLine(versionProbe.Stderr + "\n" + versionProbe.Stdout)}";
            return Report(new ProviderStatus(Provider, false, $"{executable.Path} --version failed ({why}). {CliExecutableLocator.InstallHint(Provider)}", null, executable.Path));
        }

        var loginProblem = await CheckLoginAsync(executable.Path, environment, options, cancellationToken);
        return Report(new ProviderStatus(Provider, loginProblem is null, loginProblem, version, executable.Path));
    }

    /// <summary>The CLI's arguments for a turn (the prompt goes to stdin, never here).</summary>
    internal abstract IReadOnlyList<string> BuildArguments(CliTurn turn, CliOptions options);

    /// <summary>
    /// Writes what the command line refers to into the conversation's directory (e.g. an output schema file), before the process
    /// starts; returns the error of a turn this CLI cannot run as asked. Nothing by default.
    /// </summary>
    private protected virtual Task<TurnError?> PrepareAsync(CliTurn turn, CancellationToken cancellationToken) => Task.FromResult<TurnError?>(null);

    /// <summary>Variables added to the server's environment for this provider's processes.</summary>
    internal abstract IReadOnlyDictionary<string, string?> BuildEnvironment(CliOptions options);

    private protected abstract ICliTurnParser CreateParser(CliTurn turn);

    /// <summary>What the CLI reads from stdin before it is closed: the prompt, unless the CLI takes structured input.</summary>
    private protected virtual Task<string> StdinAsync(CliTurn turn, CancellationToken cancellationToken) => Task.FromResult(turn.Prompt);

    /// <summary>Null when the CLI can reach its upstream; otherwise what the operator must do.</summary>
    private protected abstract Task<string?> CheckLoginAsync(string executablePath, IReadOnlyDictionary<string, string?> environment, CliOptions options, CancellationToken cancellationToken);

    private protected abstract string? ConfiguredPath(CliOptions options);

    private protected Task<ProbeResult> ProbeAsync(string executablePath, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment, CliOptions options, CancellationToken cancellationToken) =>
        CliProcess.RunProbeAsync(
            new CliCommand(Provider, executablePath, arguments, AppContext.BaseDirectory, environment), options.StatusCheckTimeout, Logger, Time, cancellationToken);

    /// <summary>The server's environment overlaid with <see cref="CliOptions.ExtraEnvironment"/> plus <paramref name="defaults"/> that are not set either way.</summary>
    private protected static Dictionary<string, string?> EnvironmentWith(CliOptions options, params (string Name, string Value)[] defaults)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in defaults)
        {
            if (!options.ExtraEnvironment.ContainsKey(name) && string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable(name)))
            {
                environment[name] = value;
            }
        }

        foreach (var (name, value) in options.ExtraEnvironment)
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <summary>A variable as the CLI will see it.</summary>
    private protected static string? EffectiveVariable(IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out var value) ? (string.IsNullOrEmpty(value) ? null : value) : System.Environment.GetEnvironmentVariable(name);

    private static TurnEvent Fail(TurnError error) => TurnEvent.Fail(error);

    private ProviderStatus Report(ProviderStatus status)
    {
        CliLog.StatusChecked(Logger, status.Provider, status.Available, status.Version, status.ExecutablePath, status.Message);
        return status;
    }

    /// <summary>The next JSON line of stdout; null at the end of output or when <paramref name="cancellationToken"/> fires. Other lines are skipped.</summary>
    private static async Task<JsonDocument?> ReadEventAsync(CliProcess process, CancellationToken cancellationToken)
    {
        try
        {
            while (await process.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith('{'))
                {
                    continue;
                }

                try
                {
                    return JsonDocument.Parse(line);
                }
                catch (JsonException)
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    private static async Task<int?> WaitForExitAsync(CliProcess process, CancellationToken cancellationToken)
    {
        // Stdout ended, so the CLI is finishing (Codex still writes its rollout): give it a bounded moment, never kill it early.
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(ExitGrace);
        try
        {
            return await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"\d+\.\d+\.\d+[0-9A-Za-z.+-]*")]
    private static partial Regex VersionNumber();
}
