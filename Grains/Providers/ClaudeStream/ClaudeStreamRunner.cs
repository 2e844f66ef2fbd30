using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>
/// Runs Claude Code turns in persistent <c>claude -p --input-format stream-json</c> processes (<see cref="ClaudeProcessPool"/>), one
/// per active session, instead of one <c>claude -p</c> per turn: a warm turn skips Claude's ~0.6 s start.
/// A new session starts a process with <c>--session-id</c>, a session without a live process is resumed in a new one with
/// <c>--resume</c>, a fork with <c>--resume --fork-session --session-id</c>; all in the conversation's directory. A new session or
/// ephemeral turn of a conversation without a directory yet takes a pre-started process instead (<see cref="ClaudeSpares"/>), runs in
/// that process's directory, initializes it with its instructions and schema and reports the directory with the session. A turn writes
/// one user message (images, then the prompt) and reads events until <c>result</c>, which decides the outcome
/// (<see cref="ClaudeTurnParser"/>, as in print mode). A live process started with other settings (instructions, effort, schema,
/// permissions) is replaced, with the session resumed; another model is switched in place with <c>set_model</c>. Ephemeral turns
/// (<c>store:false</c>) run in a one-shot process without session persistence. The caller's cancellation, the deadline or the idle
/// bound send an <c>interrupt</c>; a turn that reports no <c>result</c> within <see cref="InterruptGrace"/> gets its process group
/// killed. A process whose turn did not complete is ended: the conversation never resumes such a session.
/// </summary>
public sealed class ClaudeStreamRunner(
    ClaudeProcessPool pool,
    ClaudeSpares spares,
    ClaudePrintRunner printRunner,
    IOptionsMonitor<CliOptions> options,
    ILogger<ClaudeStreamRunner> logger,
    TimeProvider timeProvider) : ICliRunner
{
    /// <summary>How long an interrupted turn may take to report its <c>result</c> before its process group is killed.</summary>
    internal static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(2);

    /// <summary>The bound of waiting for the answer to <c>set_model</c> or <c>initialize</c> (milliseconds, plus the rest of a spare's start).</summary>
    private static readonly TimeSpan ControlTimeout = TimeSpan.FromSeconds(10);

    public CliProvider Provider => CliProvider.Claude;

    /// <summary>The same check as print mode's: binary, <c>--version</c>, <c>auth status</c>.</summary>
    public Task<ProviderStatus> CheckAsync(CancellationToken cancellationToken) => printRunner.CheckAsync(cancellationToken);

    public async IAsyncEnumerable<TurnEvent> RunAsync(CliTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(turn);
        CliTurnValidation.Validate(turn, Provider);
        var message = await ClaudeInput.UserMessageAsync(turn, cancellationToken);

        // The turn runs in its own task and hands its events over a channel, so that cancelling, abandoning (the consumer stops
        // reading), the deadline and the idle bound all end in one place: an interrupt, awaited before this enumerator ends.
        var events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var abandoned = new CancellationTokenSource();
        var turnTask = RunTurnAsync(turn, message, options.CurrentValue, events.Writer, cancellationToken, abandoned.Token);
        var readToEnd = false;
        try
        {
            while (await events.Reader.WaitToReadAsync(CancellationToken.None))
            {
                while (events.Reader.TryRead(out var turnEvent))
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        continue;
                    }

                    yield return turnEvent;
                }
            }

            readToEnd = true;
        }
        finally
        {
            if (!readToEnd)
            {
                await abandoned.CancelAsync();
            }

            await turnTask;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task RunTurnAsync(CliTurn turn, string message, CliOptions cli, ChannelWriter<TurnEvent> events, CancellationToken callerToken, CancellationToken abandonToken)
    {
        var timeout = turn.Timeout > TimeSpan.Zero ? turn.Timeout : cli.TurnTimeout;
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(callerToken, abandonToken, deadline.Token);
        var stopped = new StopReasons(callerToken, abandonToken, deadline.Token, timeout);
        ClaudeStreamProcess? process = null;
        TurnEvent? terminal = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                bool warm;
                (process, warm, terminal) = await OpenAsync(turn, message, cli, stop.Token);
                if (process is null)
                {
                    break;
                }

                var (end, gone) = await ReadTurnAsync(process, turn, events, stop.Token, stopped, retryIfGone: warm && attempt == 1);
                if (!gone)
                {
                    terminal = end;
                    break;
                }

                // The warm process died between turns before it said anything of this one: resume the session in a new one.
                await pool.ReturnAsync(process, keep: false, "it was gone when a turn was sent to it");
                process = null;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            terminal = stopped.Terminal(idle: false);
        }
        catch (ObjectDisposedException)
        {
            terminal = TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, "This node's Claude Code processes have been shut down."));
        }
        finally
        {
            if (process is not null)
            {
                var completed = terminal?.Kind == TurnEventKind.Completed;
                var keep = completed && !turn.Ephemeral;
                await pool.ReturnAsync(process, keep, completed ? "its turn was ephemeral" : "its turn did not complete");
                if (!keep && process.Settings.WorkingDirectory != turn.WorkingDirectory)
                {
                    // A spare's directory that no kept session lives in (a one-shot turn, a failed first turn).
                    ClaudeSpares.RemoveIfEmpty(process.Settings.WorkingDirectory);
                }
            }

            if (terminal is not null)
            {
                if (terminal.Kind == TurnEventKind.Failed)
                {
                    CliLog.TurnFailed(logger, Provider, terminal.Error!.Code, terminal.Error.Message);
                }

                events.TryWrite(terminal);
            }

            events.TryComplete();
        }
    }

    /// <summary>A process holding the turn's session with the user message sent to it (and whether it was warm), or the turn's failure.</summary>
    private async Task<(ClaudeStreamProcess? Process, bool Warm, TurnEvent? Failure)> OpenAsync(CliTurn turn, string message, CliOptions cli, CancellationToken stop)
    {
        var executable = CliExecutableLocator.Resolve(CliProvider.Claude, cli.ClaudePath);
        if (executable.Path is null)
        {
            return (null, false, TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, executable.Problem!)));
        }

        Directory.CreateDirectory(turn.WorkingDirectory);
        var settings = ClaudeProcessSettings.For(turn, cli);
        var fork = turn.ResumeSessionId is not null && turn.NewSessionId is not null;
        for (var attempt = 1; ; attempt++)
        {
            ClaudeStreamProcess? process = null;
            if (!fork && turn.ResumeSessionId is { } sessionId)
            {
                process = pool.TryTake(sessionId, out var busy);
                if (busy)
                {
                    return (null, false, TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamError,
                        $"Claude Code session {sessionId} already runs a turn on this node; turns of one session must not overlap.")));
                }

                process = await FitAsync(process, turn, settings, stop);
            }

            if (process is null && !fork && turn.ResumeSessionId is null && spares.TryTake(turn, executable.Path) is { } spare)
            {
                process = await AdoptAsync(spare, turn, settings, stop);
                process = await FitAsync(process, turn, process?.Settings ?? settings, stop);
            }

            var warm = process is not null;
            if (process is null)
            {
                var (resume, newSession) = fork ? (turn.ResumeSessionId, turn.NewSessionId) : (turn.ResumeSessionId, turn.ResumeSessionId is null ? turn.NewSessionId : null);
                var command = new CliCommand(CliProvider.Claude, executable.Path, ClaudeArguments.Build(turn.Model, resume, newSession, settings),
                    turn.WorkingDirectory, printRunner.BuildEnvironment(cli));
                var session = newSession ?? resume;
                var (started, error) = await pool.StartAsync(session ?? $"one-shot {Guid.NewGuid()}", session, command, turn.Model, settings);
                if (started is null)
                {
                    return (null, false, TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable,
                        $"The Claude Code CLI {error}. {CliExecutableLocator.InstallHint(CliProvider.Claude)}")));
                }

                process = started;
            }

            try
            {
                process.DiscardPendingEvents();
                await process.SendAsync(message, stop);
                return (process, warm, null);
            }
            catch (IOException) when (warm && attempt == 1)
            {
                // The warm process died after it was taken and before anything of this turn reached it: resume in a new one.
                await pool.ReturnAsync(process, keep: false, "it was gone when a turn was sent to it");
            }
            catch (IOException)
            {
                // A new process that is already gone (e.g. its session was not found): its exit and stderr tell why.
                return (process, warm, null);
            }
            catch (OperationCanceledException)
            {
                await pool.ReturnAsync(process, keep: false, "its turn was stopped before it was sent");
                throw;
            }
        }
    }

    /// <summary>A warm process adjusted to the turn (<c>set_model</c> for another model), or null (ended) when it cannot serve it.</summary>
    private async Task<ClaudeStreamProcess?> FitAsync(ClaudeStreamProcess? process, CliTurn turn, ClaudeProcessSettings settings, CancellationToken stop)
    {
        if (process is null)
        {
            return null;
        }

        if (process.Settings != settings)
        {
            await pool.ReturnAsync(process, keep: false, "the turn needs other instructions, effort, schema or permissions; the session resumes in a new process");
            return null;
        }

        if (process.Model == turn.Model)
        {
            return process;
        }

        var error = await SetModelAsync(process, turn.Model, stop);
        if (error is null)
        {
            process.Model = turn.Model;
            ClaudeStreamLog.ModelSwitched(logger, process.Id, turn.Model);
            return process;
        }

        ClaudeStreamLog.ModelSwitchFailed(logger, process.Id, turn.Model, error);
        await pool.ReturnAsync(process, keep: false, "it could not switch the model");
        return null;
    }

    /// <summary>
    /// Initializes a spare for the turn (<c>initialize</c> with its instructions as appended system prompt and its output schema, as
    /// the command line flags would) and takes it into the pool; null (the spare ended) if it cannot be.
    /// </summary>
    private async Task<ClaudeStreamProcess?> AdoptAsync(ClaudeStreamProcess spare, CliTurn turn, ClaudeProcessSettings settings, CancellationToken stop)
    {
        var initialize = new JsonObject { ["subtype"] = "initialize" };
        if (turn.Instructions is not null)
        {
            initialize["appendSystemPrompt"] = turn.Instructions;
        }

        if (turn.OutputSchema is not null)
        {
            initialize["jsonSchema"] = JsonNode.Parse(turn.OutputSchema);
        }

        string? error;
        try
        {
            error = await ControlAsync(spare, initialize, stop);
        }
        catch (OperationCanceledException)
        {
            await ClaudeSpares.DiscardAsync(spare, "its turn was stopped before it was sent");
            throw;
        }

        if (error is not null)
        {
            ClaudeStreamLog.SpareInitializeFailed(logger, spare.Id, error);
            await ClaudeSpares.DiscardAsync(spare, "it could not be initialized");
            return null;
        }

        spare.Settings = settings with { WorkingDirectory = spare.Settings.WorkingDirectory };
        await pool.AdoptAsync(spare);
        return spare;
    }

    /// <summary>Sends <c>set_model</c> and waits for its <c>control_response</c>; null on success, else what went wrong.</summary>
    private Task<string?> SetModelAsync(ClaudeStreamProcess process, string model, CancellationToken stop) =>
        ControlAsync(process, new JsonObject { ["subtype"] = "set_model", ["model"] = model }, stop);

    /// <summary>Sends a <c>control_request</c> and waits for its <c>control_response</c>; null on success, else what went wrong.</summary>
    private static async Task<string?> ControlAsync(ClaudeStreamProcess process, JsonObject request, CancellationToken stop)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(stop);
        bound.CancelAfter(ControlTimeout);
        try
        {
            process.DiscardPendingEvents();
            var requestId = await process.SendControlAsync(request, bound.Token);
            while (await process.NextEventAsync(bound.Token) is { } line)
            {
                using (line)
                {
                    var root = line.RootElement;
                    if (Str(root, "type") == "control_response" && root.TryGetProperty("response", out var response) && Str(response, "request_id") == requestId)
                    {
                        return Str(response, "subtype") == "success" ? null : Str(response, "error") ?? response.GetRawText();
                    }
                }
            }

            return "the process ended";
        }
        catch (IOException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return $"no answer within {ControlTimeout.TotalSeconds:0} s";
        }
    }

    /// <summary>
    /// Reads the turn's events until <c>result</c> (or the end of the process's output) and returns its terminal event; or, with
    /// <paramref name="retryIfGone"/>, reports <c>Gone</c> when the output ended before any event of the turn.
    /// </summary>
    private async Task<(TurnEvent? Terminal, bool Gone)> ReadTurnAsync(
        ClaudeStreamProcess process, CliTurn turn, ChannelWriter<TurnEvent> events, CancellationToken stop, StopReasons stopped, bool retryIfGone)
    {
        var anyEvent = false;
        var parser = new ClaudeTurnParser(turn);
        var idleTimeout = turn.IdleTimeout is { } idle && idle > TimeSpan.Zero ? idle : (TimeSpan?)null;
        while (!parser.HasResult)
        {
            JsonDocument? line;
            using (var silence = idleTimeout is { } limit ? new CancellationTokenSource(limit, timeProvider) : new CancellationTokenSource())
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stop, silence.Token))
            {
                try
                {
                    line = await process.NextEventAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    var idled = !stop.IsCancellationRequested;
                    await InterruptAsync(process, parser, idled ? $"no event for {idleTimeout!.Value.TotalSeconds:0.#} s" : stopped.Describe());
                    return (stopped.Terminal(idled, idleTimeout), false);
                }
            }

            if (line is null && retryIfGone && !anyEvent)
            {
                return (null, true);
            }

            if (line is null)
            {
                // The process crashed or exited mid-turn: fail this turn; the session resumes in a new process next time.
                var exitCode = await process.WaitForExitAsync(InterruptGrace);
                return (Publish(parser.Finish(exitCode ?? -1, process.StderrTail), events), false);
            }

            anyEvent = true;
            using (line)
            {
                foreach (var turnEvent in parser.OnEvent(line.RootElement))
                {
                    events.TryWrite(turnEvent.Kind == TurnEventKind.SessionStarted ? turnEvent with { WorkingDirectory = process.Settings.WorkingDirectory } : turnEvent);
                }
            }
        }

        return (Publish(parser.Finish(0, ""), events), false);
    }

    /// <summary>Sends <c>interrupt</c> and waits <see cref="InterruptGrace"/> for the turn's <c>result</c>; kills the process group if none comes.</summary>
    private async Task InterruptAsync(ClaudeStreamProcess process, ClaudeTurnParser parser, string reason)
    {
        ClaudeStreamLog.Interrupted(logger, process.Id, reason);
        using var grace = new CancellationTokenSource(InterruptGrace, timeProvider);
        try
        {
            await process.SendControlAsync(new JsonObject { ["subtype"] = "interrupt" }, grace.Token);
            while (!parser.HasResult && await process.NextEventAsync(grace.Token) is { } line)
            {
                using (line)
                {
                    foreach (var _ in parser.OnEvent(line.RootElement))
                    {
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        if (!parser.HasResult)
        {
            await process.KillAsync($"no result within {InterruptGrace.TotalSeconds:0} s of an interrupt ({reason})");
        }
    }

    /// <summary>Writes the non-terminal events and returns the terminal one.</summary>
    private static TurnEvent? Publish(IEnumerable<TurnEvent> finish, ChannelWriter<TurnEvent> events)
    {
        TurnEvent? terminal = null;
        foreach (var turnEvent in finish)
        {
            if (turnEvent.IsTerminal)
            {
                terminal = turnEvent;
            }
            else
            {
                events.TryWrite(turnEvent);
            }
        }

        return terminal;
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Why a turn was stopped, and what it then reports: nothing for the caller's cancellation or an abandoned turn.</summary>
    private sealed record StopReasons(CancellationToken Caller, CancellationToken Abandon, CancellationToken Deadline, TimeSpan Timeout)
    {
        public string Describe() =>
            Caller.IsCancellationRequested ? "turn cancelled" : Abandon.IsCancellationRequested ? "turn abandoned by its reader" : $"deadline of {Timeout} passed";

        public TurnEvent? Terminal(bool idle, TimeSpan? idleTimeout = null) =>
            Caller.IsCancellationRequested || Abandon.IsCancellationRequested ? null
            : TurnEvent.Fail(new TurnError(TurnErrorCodes.Timeout, idle
                ? $"The Claude Code CLI sent nothing for {idleTimeout!.Value.TotalSeconds:0.#} s; the turn was interrupted."
                : $"The Claude Code CLI did not finish the turn within {Timeout.TotalSeconds:0.#} s; it was interrupted."));
    }
}
