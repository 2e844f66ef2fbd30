using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>
/// Runs Codex turns in this node's warm <c>codex app-server</c> (<see cref="CodexAppServer"/>) instead of one <c>codex exec</c>
/// per turn: no process start per turn (a warm turn costs about a third of an exec turn against the test stub), and token deltas
/// (<c>item/agentMessage/delta</c>) instead of whole messages.
/// A new session is <c>thread/start</c> (cwd, model, sandbox, developer instructions, <c>ephemeral</c> for <c>store:false</c>); a
/// resumed one is <c>thread/resume</c> unless this process already holds the thread; then <c>turn/start</c> with the prompt.
/// Events: <see cref="TurnEventKind.SessionStarted"/>, one <see cref="TurnEventKind.TextDelta"/> per token delta, then
/// <see cref="TurnEventKind.Completed"/> on <c>turn/completed</c> with the turn's usage and the thread's running total, as
/// <see cref="CodexExecRunner"/> reports them. The caller's cancellation or the deadline sends <c>turn/interrupt</c>; a turn that
/// does not stop within <see cref="InterruptGrace"/> gets the process restarted.
/// </summary>
public sealed partial class CodexAppServerRunner(
    CodexAppServer appServer,
    CodexExecRunner execRunner,
    IOptionsMonitor<CliOptions> options,
    ILogger<CodexAppServerRunner> logger,
    TimeProvider timeProvider) : ICliRunner
{
    /// <summary>How long an interrupted turn may take to report <c>turn/completed</c> before its process is restarted.</summary>
    internal static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(2);

    /// <summary>The bound of waiting for <c>turn/start</c>'s answer (it comes within milliseconds unless the process hangs).</summary>
    private static readonly TimeSpan TurnStartTimeout = TimeSpan.FromSeconds(30);

    public CliProvider Provider => CliProvider.Codex;

    /// <summary>The same check as <c>codex exec</c>'s: binary, <c>--version</c>, login or configured provider.</summary>
    public Task<ProviderStatus> CheckAsync(CancellationToken cancellationToken) => execRunner.CheckAsync(cancellationToken);

    public async IAsyncEnumerable<TurnEvent> RunAsync(CliTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(turn);
        CliTurnValidation.Validate(turn, Provider);

        // The turn runs in its own task and hands its events over a channel, so that cancelling, abandoning (the consumer stops
        // reading) and the deadline all end in the same place: an interrupt of the turn, awaited before this enumerator ends.
        var events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var abandoned = new CancellationTokenSource();
        var producer = ProduceAsync(turn, options.CurrentValue, events.Writer, cancellationToken, abandoned.Token);
        var drained = false;
        try
        {
            await foreach (var turnEvent in events.Reader.ReadAllAsync(CancellationToken.None))
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    yield return turnEvent;
                }
            }

            drained = true;
        }
        finally
        {
            if (!drained)
            {
                await abandoned.CancelAsync();
            }

            await producer;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task ProduceAsync(CliTurn turn, CliOptions cli, ChannelWriter<TurnEvent> events, CancellationToken callerToken, CancellationToken abandonToken)
    {
        var timeout = turn.Timeout > TimeSpan.Zero ? turn.Timeout : cli.TurnTimeout;
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(callerToken, abandonToken, deadline.Token);
        TurnEvent? terminal = null;
        try
        {
            terminal = await RunTurnAsync(turn, cli, events, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Nobody reads a cancelled or abandoned turn's end; a deadline is a failure of its own.
            if (!callerToken.IsCancellationRequested && !abandonToken.IsCancellationRequested)
            {
                terminal = TurnEvent.Fail(CliErrors.DeadlinePassed("Codex", timeout, "interrupted"));
            }
        }
        finally
        {
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

    /// <summary>The turn from start to its terminal event; throws <see cref="OperationCanceledException"/> once a stopped turn was interrupted.</summary>
    private async Task<TurnEvent> RunTurnAsync(CliTurn turn, CliOptions cli, ChannelWriter<TurnEvent> events, CancellationToken stop)
    {
        if (CliErrors.CodexRemoteImage(turn) is { } unsupported)
        {
            return TurnEvent.Fail(unsupported);
        }

        Directory.CreateDirectory(turn.WorkingDirectory);
        for (var attempt = 1; ; attempt++)
        {
            CodexAppServerConnection connection;
            try
            {
                connection = await appServer.AcquireAsync(stop);
            }
            catch (AppServerUnavailableException e)
            {
                return TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, e.Message));
            }
            catch (ObjectDisposedException)
            {
                return TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable, "This node's Codex app-server has been shut down."));
            }

            ThreadSubscription? subscription = null;
            try
            {
                var (thread, failure) = await OpenThreadAsync(connection, turn, cli, stop);
                if (thread is null)
                {
                    return failure!;
                }

                subscription = connection.TrySubscribe(thread.Id);
                if (subscription is null)
                {
                    // turn/start on a busy thread would be merged into the running turn; the conversation grain never lets this happen.
                    return TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamError, $"Codex thread {thread.Id} is already running a turn on this node."));
                }

                // What the thread had used before this turn: Codex reports running totals, and a turn's usage is the difference.
                var before = thread.Total ?? turn.SessionUsageBefore ?? (turn.ResumeSessionId is null ? TokenUsage.Zero : null);
                var (turnId, refused) = await StartTurnAsync(connection, thread.Id, turn, cli);
                if (refused is not null)
                {
                    return TurnEvent.Fail(refused);
                }

                events.TryWrite(TurnEvent.Session(thread.Id));
                return await StreamTurnAsync(connection, subscription, thread, turnId!, before, turn.IdleTimeout, events, stop);
            }
            catch (AppServerExitedException e) when (!e.RequestSent && attempt == 1)
            {
                // The process died a moment ago and nothing of this turn reached it: the turn moves to a new process, once.
            }
            catch (AppServerExitedException e)
            {
                return TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamError, $"Codex failed: {e.Message}"));
            }
            finally
            {
                subscription?.Dispose();
                connection.EndTurn();
            }
        }
    }

    /// <summary>The thread to run in, loaded in this process: started, resumed from its rollout, or already here.</summary>
    private async Task<(LoadedThread? Thread, TurnEvent? Failure)> OpenThreadAsync(CodexAppServerConnection connection, CliTurn turn, CliOptions cli, CancellationToken stop)
    {
        if (turn.ResumeSessionId is not { } threadId)
        {
            var startReply = await connection.RequestAsync(
                AppServerMethods.ThreadStart,
                new ThreadStartParams
                {
                    Model = turn.Model,
                    Cwd = turn.WorkingDirectory,
                    Sandbox = turn.Sandbox ?? cli.CodexSandboxMode,
                    DeveloperInstructions = turn.Instructions,
                    Ephemeral = turn.Ephemeral,
                },
                AppServerJsonContext.Default.ThreadStartParams,
                stop);
            return startReply.Error is { } startError
                ? (null, TurnEvent.Fail(CliErrors.Codex($"thread/start failed: {startError.Message}")))
                : (connection.AddThread(Read(startReply, AppServerJsonContext.Default.ThreadResult).Thread), null);
        }

        if (connection.FindThread(threadId) is { } loaded)
        {
            // Like `codex exec resume`: an ephemeral thread or one whose rollout was deleted cannot be continued, even though this
            // process still has it in memory; the conversation then starts a fresh session seeded with its transcript.
            if (loaded.Ephemeral)
            {
                return (null, TurnEvent.Fail(CliErrors.SessionNotFound(CliProvider.Codex, threadId, turn.WorkingDirectory, "it was ephemeral")));
            }

            if (loaded.RolloutPath is { } rollout && !File.Exists(rollout))
            {
                return (null, TurnEvent.Fail(CliErrors.SessionNotFound(CliProvider.Codex, threadId, turn.WorkingDirectory, $"its rollout file {rollout} is gone")));
            }

            return (loaded, null);
        }

        var resumeReply = await connection.RequestAsync(
            AppServerMethods.ThreadResume,
            new ThreadResumeParams { ThreadId = threadId, Model = turn.Model, Cwd = turn.WorkingDirectory, Sandbox = turn.Sandbox ?? cli.CodexSandboxMode },
            AppServerJsonContext.Default.ThreadResumeParams,
            stop);
        if (resumeReply.Error is { } resumeError)
        {
            return (null, TurnEvent.Fail(resumeError.Message.Contains("no rollout found", StringComparison.Ordinal)
                ? CliErrors.SessionNotFound(CliProvider.Codex, threadId, turn.WorkingDirectory, resumeError.Message)
                : CliErrors.Codex($"thread/resume failed: {resumeError.Message}")));
        }

        return (connection.AddThread(Read(resumeReply, AppServerJsonContext.Default.ThreadResult).Thread), null);
    }

    /// <summary>
    /// Sends <c>turn/start</c>: the image files (before the text, as <c>codex exec -i</c> puts them), the model, effort, output schema and
    /// sandbox policy of this turn; the last two also stay with the thread, so every turn sends its own. Not cut short by the turn's
    /// cancellation: once sent, the turn runs until it completes or is interrupted, and interrupting needs its id. A process that
    /// does not answer at all is restarted.
    /// </summary>
    private async Task<(string? Id, TurnError? Error)> StartTurnAsync(CodexAppServerConnection connection, string threadId, CliTurn turn, CliOptions cli)
    {
        var parameters = new TurnStartParams
        {
            ThreadId = threadId,
            Input = [.. turn.Images.Select(i => UserInput.ForLocalImage(i.Path!)), UserInput.ForText(turn.Prompt)],
            Model = turn.Model,
            Effort = turn.ReasoningEffort,
            SandboxPolicy = SandboxPolicy.For(turn.Sandbox ?? cli.CodexSandboxMode, turn.NetworkAccess),
            OutputSchema = turn.OutputSchema is null ? null : JsonElement.Parse(turn.OutputSchema),
        };
        using var timeout = new CancellationTokenSource(TurnStartTimeout, timeProvider);
        RpcMessage reply;
        try
        {
            reply = await connection.RequestAsync(
                AppServerMethods.TurnStart,
                parameters,
                AppServerJsonContext.Default.TurnStartParams,
                timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            var reason = $"it did not answer turn/start within {TurnStartTimeout.TotalSeconds:0} s";
            await appServer.RestartAsync(connection, reason);
            return (null, new TurnError(TurnErrorCodes.UpstreamError, $"Codex failed: the app-server was restarted because {reason}."));
        }

        return reply.Error is { } error
            ? (null, CliErrors.Codex($"turn/start failed: {error.Message}"))
            : (Read(reply, AppServerJsonContext.Default.TurnResult).Turn.Id, null);
    }

    /// <summary>
    /// Reads the turn's notifications up to <c>turn/completed</c>. A turn whose thread sends nothing for <paramref name="idleTimeout"/>
    /// is interrupted and fails with <see cref="TurnErrorCodes.Timeout"/>, like a stopped one throws once interrupted.
    /// </summary>
    private async Task<TurnEvent> StreamTurnAsync(
        CodexAppServerConnection connection,
        ThreadSubscription subscription,
        LoadedThread thread,
        string turnId,
        TokenUsage? before,
        TimeSpan? idleTimeout,
        ChannelWriter<TurnEvent> events,
        CancellationToken stop)
    {
        var idle = idleTimeout is { } configured && configured > TimeSpan.Zero ? configured : Timeout.InfiniteTimeSpan;
        using var silence = new CancellationTokenSource(idle, timeProvider);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop, silence.Token);
        var answer = new AnswerText();
        TokenUsage? total = null;
        TurnErrorInfo? lastError = null;
        while (true)
        {
            AppServerNotification notification;
            try
            {
                notification = await subscription.Reader.ReadAsync(wait.Token);
                silence.CancelAfter(idle);
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested)
            {
                await InterruptAsync(connection, subscription, thread, turnId);
                stop.ThrowIfCancellationRequested();
                return TurnEvent.Fail(CliErrors.NoOutput("Codex", idle, "interrupted"));
            }

            switch (notification.Method)
            {
                case AppServerNotification.ExitedMethod:
                    throw new AppServerExitedException(await connection.Exited);

                case AppServerMethods.AgentMessageDelta
                    when Parse(notification, AppServerJsonContext.Default.AgentMessageDeltaParams) is { } delta && delta.TurnId == turnId:
                    if (answer.OnDelta(delta.ItemId, delta.Delta) is { } text)
                    {
                        events.TryWrite(TurnEvent.Delta(text));
                    }

                    break;

                case AppServerMethods.ItemCompleted
                    when Parse(notification, AppServerJsonContext.Default.ItemCompletedParams) is { } completed && completed.TurnId == turnId
                        && Str(completed.Item, "type") == "agentMessage" && Str(completed.Item, "id") is { } itemId && Str(completed.Item, "text") is { } itemText:
                    if (answer.OnItemCompleted(itemId, itemText) is { } rest)
                    {
                        events.TryWrite(TurnEvent.Delta(rest));
                    }

                    break;

                case AppServerMethods.TokenUsageUpdated
                    when Parse(notification, AppServerJsonContext.Default.TokenUsageUpdatedParams) is { } usage && usage.TurnId == turnId:
                    total = usage.TokenUsage.Total.ToTokenUsage();
                    // Without a known starting point (a thread resumed here with no usage on record), the first call's own usage tells it.
                    before ??= total.Minus(usage.TokenUsage.Last.ToTokenUsage());
                    break;

                case AppServerMethods.Error
                    when Parse(notification, AppServerJsonContext.Default.ErrorNotificationParams) is { WillRetry: false } error && (error.TurnId ?? turnId) == turnId:
                    lastError = error.Error;
                    break;

                case AppServerMethods.TurnCompleted
                    when Parse(notification, AppServerJsonContext.Default.TurnCompletedParams) is { } end && end.Turn.Id == turnId:
                    thread.Total = total ?? thread.Total;
                    switch (end.Turn.Status)
                    {
                        case "completed":
                            var sessionUsage = total ?? before ?? TokenUsage.Zero;
                            return TurnEvent.Done(answer.ToString(), sessionUsage.Minus(before ?? TokenUsage.Zero), sessionUsage);
                        case "interrupted":
                            return TurnEvent.Fail(new TurnError(TurnErrorCodes.UpstreamError, "Codex failed: the turn was interrupted."));
                        default:
                            return TurnEvent.Fail(AppServerErrors.FromTurnError(end.Turn.Error ?? lastError));
                    }
            }
        }
    }

    /// <summary>Interrupts a turn and waits for it to end; one that does not end within <see cref="InterruptGrace"/> gets its process restarted.</summary>
    private async Task InterruptAsync(CodexAppServerConnection connection, ThreadSubscription subscription, LoadedThread thread, string turnId)
    {
        using var grace = new CancellationTokenSource(InterruptGrace, timeProvider);
        try
        {
            // An error answer means the turn is already over; its turn/completed is then in the channel or on its way.
            await connection.RequestAsync(AppServerMethods.TurnInterrupt, new TurnInterruptParams(thread.Id, turnId), AppServerJsonContext.Default.TurnInterruptParams, grace.Token);
            while (true)
            {
                var notification = await subscription.Reader.ReadAsync(grace.Token);
                switch (notification.Method)
                {
                    case AppServerNotification.ExitedMethod:
                        return;
                    case AppServerMethods.TokenUsageUpdated
                        when Parse(notification, AppServerJsonContext.Default.TokenUsageUpdatedParams) is { } usage && usage.TurnId == turnId:
                        // What the interrupted turn used still counts in the thread's total, and so not in the next turn's usage.
                        thread.Total = usage.TokenUsage.Total.ToTokenUsage();
                        break;
                    case AppServerMethods.TurnCompleted
                        when Parse(notification, AppServerJsonContext.Default.TurnCompletedParams) is { } end && end.Turn.Id == turnId:
                        AppServerLog.TurnInterrupted(logger, thread.Id, turnId, end.Turn.Status);
                        return;
                }
            }
        }
        catch (AppServerExitedException)
        {
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested)
        {
            await appServer.RestartAsync(connection, $"turn {turnId} of thread {thread.Id} did not stop within {InterruptGrace.TotalSeconds:0} s of turn/interrupt");
        }
    }

    private T? Parse<T>(AppServerNotification notification, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return notification.Params.Deserialize(typeInfo);
        }
        catch (JsonException e)
        {
            AppServerLog.UnreadableNotification(logger, notification.Method, e.Message);
            return null;
        }
    }

    private static T Read<T>(RpcMessage reply, JsonTypeInfo<T> typeInfo)
        where T : class =>
        (reply.Result is { } result ? result.Deserialize(typeInfo) : null)
        ?? throw new AppServerExitedException($"The Codex app-server answered without a result ({typeInfo.Type.Name}).");

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// The answer as streamed: the deltas of each agent message, messages separated by a blank line (as <c>codex exec</c> joins
    /// them). A message that completes with more text than was streamed (or with none streamed) adds the rest as one delta.
    /// </summary>
    private sealed class AnswerText
    {
        private readonly StringBuilder _all = new();
        private readonly StringBuilder _item = new();
        private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
        private string? _itemId;

        public string? OnDelta(string itemId, string delta)
        {
            if (delta.Length == 0 || _finished.Contains(itemId))
            {
                return null;
            }

            var separator = itemId == _itemId ? "" : StartItem(itemId);
            _item.Append(delta);
            _all.Append(separator).Append(delta);
            return separator + delta;
        }

        public string? OnItemCompleted(string itemId, string text)
        {
            if (!_finished.Add(itemId))
            {
                return null;
            }

            if (itemId != _itemId)
            {
                if (text.Length == 0)
                {
                    return null;
                }

                var separator = StartItem(itemId);
                _item.Append(text);
                _all.Append(separator).Append(text);
                return separator + text;
            }

            var streamed = _item.ToString();
            if (text.Length <= streamed.Length || !text.StartsWith(streamed, StringComparison.Ordinal))
            {
                return null;
            }

            var rest = text[streamed.Length..];
            _item.Append(rest);
            _all.Append(rest);
            return rest;
        }

        public override string ToString() => _all.ToString();

        private string StartItem(string itemId)
        {
            _itemId = itemId;
            _item.Clear();
            return _all.Length > 0 ? "\n\n" : "";
        }
    }
}

/// <summary>Maps an app-server turn error onto the <see cref="TurnError"/>s <c>codex exec</c> failures map to.</summary>
internal static class AppServerErrors
{
    public static TurnError FromTurnError(TurnErrorInfo? error)
    {
        if (error is null)
        {
            return new TurnError(TurnErrorCodes.UpstreamError, "Codex failed the turn without saying why.");
        }

        var message = string.IsNullOrWhiteSpace(error.AdditionalDetails) ? error.Message : $"{error.Message} ({error.AdditionalDetails})";
        var mapped = CliErrors.Codex(message);
        if (mapped.Code != TurnErrorCodes.UpstreamError)
        {
            return mapped;
        }

        // The words did not say it, the structured error does: tell CliErrors what it means in the words it reads.
        var (kind, status) = Classify(error.CodexErrorInfo);
        var hint = kind switch
        {
            "unauthorized" => "status 401",
            "rateLimitExceeded" or "usageLimitExceeded" => "status 429",
            "modelNotFound" => "model not found",
            _ => status is 401 or 403 or 429 ? $"status {status}" : null,
        };
        return hint is null ? mapped : CliErrors.Codex($"{hint}: {message}");
    }

    /// <summary>The kind of a <c>codexErrorInfo</c> (<c>"modelNotFound"</c>, or the name of its object form) and the HTTP status it carries.</summary>
    private static (string? Kind, int? Status) Classify(JsonElement? info)
    {
        switch (info)
        {
            case { ValueKind: JsonValueKind.String } kind:
                return (kind.GetString(), null);
            case { ValueKind: JsonValueKind.Object } detailed:
                foreach (var property in detailed.EnumerateObject())
                {
                    var status = property.Value.ValueKind == JsonValueKind.Object
                        && property.Value.TryGetProperty("httpStatusCode", out var code) && code.ValueKind == JsonValueKind.Number
                        ? code.GetInt32()
                        : (int?)null;
                    return (property.Name, status);
                }

                break;
        }

        return (null, null);
    }
}
