using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using OrleansCodex.Grains.Placement;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// One conversation (a <c>previous_response_id</c> tree). It owns its turns: <see cref="Start"/> accepts one into a bounded queue and
/// returns; the turns run one at a time in the activation, whoever watches, so the CLI session has one writer. A turn that continues
/// the head resumes the session with only the new input; any other turn (a fork, a provider switch, a session left on another node
/// or lost) starts a fresh session seeded with the transcript up to its parent.
/// </summary>
/// <remarks>
/// Orleans runs the activation's requests one at a time, but a streamed method (<see cref="Watch"/>) interleaves, and so do
/// <see cref="Cancel"/>, <see cref="GetResponse"/> and <see cref="DeleteResponse"/>: none of them waits behind a running turn. The turns
/// themselves run outside any request, on the activation's scheduler, so everything here is touched by one thread at a time.
/// </remarks>
[GrainType("conversation")]
[ConversationPlacement]
[ServesProviderPlacementFilter]
public sealed partial class ConversationGrain(
    [PersistentState("conversation", ConversationGrain.StorageName)] IPersistentState<ConversationState> state,
    ConversationStore store,
    CliWorkerPool workers,
    IOptions<ConversationOptions> conversationOptions,
    IOptions<CliOptions> cliOptions,
    IOptions<WorkerOptions> workerOptions,
    ILocalSiloDetails silo,
    ServedProviders served,
    TimeProvider timeProvider,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain
{
    /// <summary>The grain storage provider the conversation state lives in.</summary>
    public const string StorageName = "state";

    /// <summary>How long a finished turn's events stay for watchers that come late (a stream resuming after its node hop).</summary>
    private static readonly TimeSpan FinishedTurnRetention = TimeSpan.FromMinutes(2);

    /// <summary>Beyond the queue wait and the CLI's own deadline: the time a turn gets to end its CLI and store itself.</summary>
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromSeconds(30);

    private static readonly TurnError Interrupted = new(TurnErrorCodes.NodeUnavailable,
        "The server node running this conversation stopped before the turn finished; the turn may be retried.");

    /// <summary>How long <see cref="Cancel"/> waits for a running turn to end (its CLI gets a grace period before it is killed).</summary>
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);

    private static readonly TurnError ClientCancelled = new(TurnErrorCodes.Cancelled, "The turn was cancelled.");

    /// <summary>Turns queued, running, or finished a moment ago, by response id.</summary>
    private readonly Dictionary<string, ActiveTurn> _turns = new(StringComparer.Ordinal);
    private readonly Queue<ActiveTurn> _queue = new();
    private ActiveTurn? _running;
    private Task _draining = Task.CompletedTask;

    private string ConversationId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        LogActivated(ConversationId, silo.Name);
        // Only this activation writes this conversation's rows, so a row still in progress belongs to one that died mid-turn.
        var interrupted = await store.FailInterruptedAsync(ConversationId, Interrupted, cancellationToken);
        if (interrupted > 0)
        {
            LogInterruptedTurns(ConversationId, interrupted);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Shutdown, a failed state write, or the idle collector (never while a turn runs: see DelayDeactivation).
        foreach (var queued in _queue.Where(t => !t.IsDone).ToList())
        {
            await FinishQueuedAsync(queued, Interrupted);
        }

        if (_running is { } running)
        {
            LogStoppingTurn(ConversationId, running.Request.ResponseId, reason.ToString());
            running.Cancel(Interrupted);
        }

        try
        {
            await _draining.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Orleans' deactivation timeout: the row stays in progress and is marked failed when the conversation next activates.
        }
    }

    public async Task<TurnStart> Start(TurnRequest request, CancellationToken cancellationToken = default)
    {
        ForgetOldTurns();
        if (_turns.TryGetValue(request.ResponseId, out var known))
        {
            return Accepted(known.Response);
        }

        if (!ResponseIds.TryGetConversationId(request.ResponseId, out var owner) || owner != ConversationId)
        {
            throw new ArgumentException($"Response '{request.ResponseId}' does not belong to conversation '{ConversationId}'.", nameof(request));
        }

        var provider = ModelRouting.ProviderFor(request.Model);
        if (!served.Serves(provider))
        {
            // Placement keeps new conversations off such nodes; an existing one stays where its history and session are.
            return Refused(new TurnError(TurnErrorCodes.ProviderUnavailable,
                $"This conversation runs on node '{silo.Name}', which does not serve {ModelRouting.ProviderName(provider)} ({ServedProviders.SettingName} = {served.Setting}). Start a new conversation to use {request.Model}."));
        }

        if (TurnAdmission.Check(request, provider, cliOptions.Value) is { } refusal)
        {
            return Refused(refusal);
        }

        if (request.PreviousResponseId is { } previousId && !await CanContinueAsync(previousId, cancellationToken))
        {
            return Refused(new TurnError(TurnErrorCodes.PreviousResponseNotFound, $"Previous response with id '{previousId}' not found.", "previous_response_id"));
        }

        var maxQueued = conversationOptions.Value.MaxQueuedTurns;
        if (_running is not null && _queue.Count(t => !t.IsDone) >= maxQueued)
        {
            return Refused(new TurnError(TurnErrorCodes.ConversationBusy,
                $"This conversation is running a turn and {maxQueued} more are waiting (Conversations:MaxQueuedTurns); wait for them or start a new conversation."));
        }

        var response = StoredResponse.Accepted(request, ConversationId);
        if (request.Store && !await store.InsertAsync(response, cancellationToken))
        {
            // The same response again. Its node died before it produced anything: run it (the client never saw it run). Otherwise
            // it ran here before, and watching it replays how it ended; it never runs twice.
            if (!await store.ReopenInterruptedAsync(ConversationId, request.ResponseId, cancellationToken))
            {
                var stored = await store.GetAsync(ConversationId, request.ResponseId, cancellationToken);
                return stored is { Status: not ResponseStatus.InProgress }
                    ? Accepted(stored)
                    : Refused(new TurnError(TurnErrorCodes.ServerError, $"A response with id '{request.ResponseId}' already exists."));
            }

            LogRerun(ConversationId, request.ResponseId);
        }

        if (_turns.TryGetValue(request.ResponseId, out known))
        {
            return Accepted(known.Response);
        }

        var now = timeProvider.GetUtcNow();
        var queueTimeout = workerOptions.Value.QueueTimeout;
        var turn = new ActiveTurn(request, response with { Status = _running is null ? ResponseStatus.InProgress : ResponseStatus.Queued },
            now + 2 * queueTimeout + TurnTimeout(request) + DeadlineMargin);
        _turns[request.ResponseId] = turn;
        _queue.Enqueue(turn);
        if (_running is not null)
        {
            // Waiting for this conversation's earlier turns counts against the same bound as waiting for a CLI slot.
            turn.QueueTimer = this.RegisterGrainTimer(static (state, _) => state.Grain.QueueTimedOutAsync(state.Turn), (Grain: this, Turn: turn),
                new GrainTimerCreationOptions(queueTimeout, Timeout.InfiniteTimeSpan) { Interleave = true });
        }

        if (_draining.IsCompleted)
        {
            _draining = DrainAsync();
        }

        return Accepted(turn.Response);
    }

    public async IAsyncEnumerable<TurnEvent> Watch(string responseId, int afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_turns.TryGetValue(responseId, out var turn))
        {
            // Not running here (finished a while ago, or before a restart): how it ended is in the turn log.
            var stored = await store.GetAsync(ConversationId, responseId, cancellationToken);
            yield return stored is { Status: not ResponseStatus.InProgress }
                ? TurnEvent.Terminal(stored, afterSequence + 1)
                : TurnEvent.Fail(new TurnError(TurnErrorCodes.ResponseNotFound, $"Response with id '{responseId}' is not running and not stored."));
            yield break;
        }

        turn.Watchers++;
        try
        {
            var next = Math.Max(0, afterSequence + 1);
            while (true)
            {
                while (next < turn.Events.Count)
                {
                    var turnEvent = turn.Events[next++];
                    yield return turnEvent;
                    if (turnEvent.IsTerminal)
                    {
                        yield break;
                    }
                }

                if (turn.IsDone)
                {
                    yield break;
                }

                await turn.WhenChangedAsync(cancellationToken);
            }
        }
        finally
        {
            turn.Watchers--;
            DeactivateWhenStateless();
        }
    }

    public async Task<bool> Cancel(string responseId)
    {
        if (!_turns.TryGetValue(responseId, out var turn) || turn.IsDone)
        {
            return false;
        }

        if (turn == _running)
        {
            // The CLI is interrupted, and killed if it has not stopped within its grace: wait for the turn to be stored as cancelled.
            turn.Cancel(ClientCancelled);
            await turn.Finished.WaitAsync(CancelWait, timeProvider).ContinueWith(_ => { }, TaskScheduler.Current);
        }
        else
        {
            await FinishQueuedAsync(turn, ClientCancelled);
        }

        return true;
    }

    public async Task<StoredResponse?> GetResponse(string responseId)
    {
        if (_turns.TryGetValue(responseId, out var turn) && !turn.IsDone)
        {
            return turn.Request.Store ? turn.Response : null;
        }

        return await store.GetAsync(ConversationId, responseId, CancellationToken.None);
    }

    public Task<bool> DeleteResponse(string responseId) => store.DeleteAsync(ConversationId, responseId, CancellationToken.None);

    /// <summary>Runs the queued turns one after another; started when a turn is queued and none runs.</summary>
    private async Task DrainAsync()
    {
        while (_queue.TryDequeue(out var turn))
        {
            if (turn.IsDone || turn.Cancellation.IsCancellationRequested)
            {
                continue;
            }

            turn.QueueTimer?.Dispose();
            _running = turn;
            try
            {
                await RunTurnAsync(turn);
            }
            finally
            {
                _running = null;
            }
        }

        DeactivateWhenStateless();
    }

    private async Task RunTurnAsync(ActiveTurn turn)
    {
        var request = turn.Request;
        var provider = ModelRouting.ProviderFor(request.Model);
        var remaining = turn.Deadline - timeProvider.GetUtcNow();
        turn.Start();
        // The activation must outlive the turn even when nobody calls it (a background turn); the deadline bounds both.
        DelayDeactivation(remaining > TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1));
        turn.Cancellation.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        var cancellationToken = turn.Cancellation.Token;
        var outcome = new TurnOutcome();
        CliTurn? cliTurn = null;
        try
        {
            StoredResponse? parent = null;
            if (request.PreviousResponseId is { } previousId)
            {
                parent = await store.GetAsync(ConversationId, previousId, cancellationToken);
                if (parent is null || parent.Status == ResponseStatus.InProgress)
                {
                    outcome.Error = new TurnError(TurnErrorCodes.PreviousResponseNotFound, $"Previous response with id '{previousId}' not found.", "previous_response_id");
                }
            }

            if (outcome.Error is null)
            {
                cliTurn = await PlanAsync(request, parent, provider, forceFresh: false, cancellationToken);
                await RunCliAsync(turn, cliTurn, outcome, cancellationToken);

                // A resumed session that vanished (its files were removed) is replaced by a fresh one seeded with the transcript.
                if (outcome.Error?.Code == TurnErrorCodes.SessionNotFound && cliTurn.ResumeSessionId is { } lostSession)
                {
                    LogSessionLost(ConversationId, lostSession);
                    state.State.Session = null;
                    await state.WriteStateAsync(cancellationToken);
                    cliTurn = await PlanAsync(request, parent, provider, forceFresh: true, cancellationToken);
                    outcome = new TurnOutcome();
                    await RunCliAsync(turn, cliTurn, outcome, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome.Error = turn.CancelledBecause
                ?? new TurnError(TurnErrorCodes.Timeout, "The turn ran past its deadline and was stopped.");
        }
        catch (Exception e)
        {
            LogTurnFailed(e, ConversationId, request.ResponseId);
            outcome.Error = new TurnError(TurnErrorCodes.ServerError, "The turn failed on the server; please retry.");
        }

        await FinishAsync(turn, cliTurn, outcome);
    }

    /// <summary>Streams the CLI's text into the turn's log and captures how it ended in <paramref name="outcome"/>.</summary>
    private async Task RunCliAsync(ActiveTurn turn, CliTurn cliTurn, TurnOutcome outcome, CancellationToken cancellationToken)
    {
        await foreach (var turnEvent in workers.RunAsync(cliTurn, cancellationToken).WithCancellation(cancellationToken))
        {
            switch (turnEvent.Kind)
            {
                case TurnEventKind.SessionStarted:
                    outcome.SessionId = turnEvent.SessionId;
                    outcome.WorkingDirectory = turnEvent.WorkingDirectory;
                    break;
                case TurnEventKind.TextDelta when turnEvent.Text is { Length: > 0 } delta:
                    turn.AppendDelta(delta);
                    break;
                case TurnEventKind.Completed:
                    outcome.Completed = true;
                    outcome.Usage = turnEvent.Usage;
                    outcome.SessionUsage = turnEvent.SessionUsage;
                    // Exec-style CLIs report the whole answer only at the end; the deltas already sent are its prefix.
                    var soFar = turn.Text.ToString();
                    if (turnEvent.Text is { } text && text.Length > soFar.Length && text.StartsWith(soFar, StringComparison.Ordinal))
                    {
                        turn.AppendDelta(text[soFar.Length..]);
                    }

                    break;
                case TurnEventKind.Failed:
                    outcome.Error = turnEvent.Error;
                    break;
            }
        }

        if (!outcome.Completed)
        {
            outcome.Error ??= new TurnError(TurnErrorCodes.ServerError, "The CLI worker ended the turn without a result.");
        }
    }

    private async Task<CliTurn> PlanAsync(TurnRequest request, StoredResponse? parent, CliProvider provider, bool forceFresh, CancellationToken cancellationToken)
    {
        var session = state.State.Session;
        var cli = cliOptions.Value;
        var instructions = PromptBuilder.InstructionsFor(request);
        var workingDirectory = WorkingDirectory();
        var turn = new CliTurn
        {
            Provider = provider,
            Model = request.Model,
            Prompt = "",
            Instructions = instructions,
            WorkingDirectory = workingDirectory,
            FreshWorkingDirectory = state.State.HeadResponseId is null && state.State.Directory is null,
            ReasoningEffort = request.ReasoningEffort ?? (provider == CliProvider.Codex ? cli.CodexReasoningEffort : null),
            Ephemeral = !request.Store,
            Timeout = TurnTimeout(request),
            IdleTimeout = cli.IdleTimeout > TimeSpan.Zero ? cli.IdleTimeout : null,
            OutputSchema = request.OutputFormat?.Schema,
            Sandbox = request.Sandbox ?? cli.CodexSandboxMode,
            NetworkAccess = request.NetworkAccess ?? cli.CodexNetworkAccess,
        };

        // Instructions apply to one turn only; a Codex thread keeps those it started with, so other instructions need a fresh thread.
        var canResume = !forceFresh && request.Store && parent is not null && session is not null && session.Provider == provider
            && session.ResponseId == parent.Id && session.Host == silo.Name
            && (provider != CliProvider.Codex || session.Instructions == instructions);
        var images = await TurnImages.MaterializeAsync(PromptBuilder.ImagesOf(request.Input, withTranscript: !canResume), workingDirectory, request.ResponseId, cancellationToken);
        if (canResume)
        {
            return turn with
            {
                Prompt = PromptBuilder.ForInput(request.Input), Images = images, ResumeSessionId = session!.SessionId, SessionUsageBefore = session.Usage,
            };
        }

        var history = parent is null ? [] : await store.GetChainAsync(ConversationId, parent.Id, cancellationToken);
        return turn with
        {
            Prompt = PromptBuilder.WithTranscript(history, request.Input),
            Images = images,
            NewSessionId = provider == CliProvider.Claude && request.Store ? Guid.NewGuid().ToString() : null,
        };
    }

    /// <summary>Stores the outcome, moves the head and ends the turn's log; runs whoever watches, so nothing is half-written.</summary>
    private async Task FinishAsync(ActiveTurn turn, CliTurn? cliTurn, TurnOutcome outcome)
    {
        var request = turn.Request;
        if (cliTurn?.FreshWorkingDirectory == true && (!request.Store || outcome.Error is not null))
        {
            // Nobody comes back to a stateless conversation, nor continues one whose first turn failed: keep only what a CLI wrote.
            // (A Claude spare's directory the turn ran in instead is the runner's to remove.)
            RemoveDirectoryUnlessUsed(cliTurn.WorkingDirectory);
        }

        var final = turn.Response with
        {
            Status = outcome.Error switch
            {
                null => ResponseStatus.Completed,
                { Code: TurnErrorCodes.Cancelled } => ResponseStatus.Cancelled,
                _ => ResponseStatus.Failed,
            },
            CompletedAt = timeProvider.GetUtcNow(),
            OutputText = turn.Text.ToString(),
            Usage = outcome.Error is null ? outcome.Usage ?? TokenUsage.Zero : outcome.Usage,
            Error = outcome.Error,
        };

        try
        {
            if (request.Store)
            {
                await store.CompleteAsync(request.ResponseId, final.Status, final.OutputText, final.Usage, final.Error, CancellationToken.None);
                await UpdateStateAsync(request, cliTurn, outcome);
            }
        }
        catch (InconsistentStateException e)
        {
            // Another activation of this conversation wrote its state since this one read it: this one is stale and goes away.
            LogStaleState(e, ConversationId);
            DeactivateOnIdle();
        }
        catch (Exception e)
        {
            LogStoreFailed(e, ConversationId, request.ResponseId);
        }
        finally
        {
            turn.Finish(final, timeProvider.GetUtcNow());
        }
    }

    private async Task UpdateStateAsync(TurnRequest request, CliTurn? cliTurn, TurnOutcome outcome)
    {
        if (outcome.Error is null && outcome.SessionId is { } sessionId && cliTurn is not null)
        {
            if (cliTurn.FreshWorkingDirectory && outcome.WorkingDirectory is { } moved && moved != cliTurn.WorkingDirectory)
            {
                MoveTo(cliTurn.WorkingDirectory, moved);
            }

            state.State.HeadResponseId = request.ResponseId;
            state.State.Session = new CliSessionState
            {
                Provider = cliTurn.Provider,
                SessionId = sessionId,
                ResponseId = request.ResponseId,
                Host = silo.Name,
                Usage = outcome.SessionUsage,
                Instructions = cliTurn.Provider == CliProvider.Codex ? cliTurn.Instructions : null,
            };
        }
        else if (outcome.Error is null)
        {
            state.State.HeadResponseId = request.ResponseId;
        }
        else if (cliTurn?.ResumeSessionId is not null)
        {
            // A failed or cancelled turn may have left its input in the session's history: never resume that session again.
            state.State.Session = null;
        }
        else
        {
            return;
        }

        await state.WriteStateAsync(CancellationToken.None);
    }

    /// <summary>Ends a turn that never ran (cancelled, timed out in the queue, or the activation going away).</summary>
    private async Task FinishQueuedAsync(ActiveTurn turn, TurnError error)
    {
        turn.QueueTimer?.Dispose();
        turn.Cancel(error);
        await FinishAsync(turn, null, new TurnOutcome { Error = error });
        DeactivateWhenStateless();
    }

    private Task QueueTimedOutAsync(ActiveTurn turn) => turn == _running || turn.IsDone
        ? Task.CompletedTask
        : FinishQueuedAsync(turn, new TurnError(TurnErrorCodes.Overloaded,
            $"The turn waited longer than Workers:QueueTimeout ({workerOptions.Value.QueueTimeout}) for this conversation's earlier turns; try again shortly."));

    /// <summary>Whether a new turn may continue <paramref name="previousId"/>: a stored response, or a stored turn still queued or running here.</summary>
    private async Task<bool> CanContinueAsync(string previousId, CancellationToken cancellationToken)
    {
        if (_turns.TryGetValue(previousId, out var pending) && !pending.IsDone)
        {
            return pending.Request.Store;
        }

        return await store.GetAsync(ConversationId, previousId, cancellationToken) is { Status: not ResponseStatus.InProgress };
    }

    /// <summary>A stateless conversation (only <c>store:false</c> turns, e.g. Chat Completions) has nothing to come back to: free it once its turns were watched to the end.</summary>
    private void DeactivateWhenStateless()
    {
        if (state.State.HeadResponseId is null && _running is null && _queue.Count == 0
            && _turns.Values.All(t => t.IsDone && t.Watchers == 0 && !t.Request.Store))
        {
            DeactivateOnIdle();
        }
    }

    private void ForgetOldTurns()
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (id, turn) in _turns.Where(t => t.Value.FinishedAt < now - FinishedTurnRetention && t.Value.Watchers == 0).ToList())
        {
            _turns.Remove(id);
            turn.Dispose();
        }
    }

    private TimeSpan TurnTimeout(TurnRequest request) =>
        request.Timeout is { } requested && requested < cliOptions.Value.TurnTimeout ? requested : cliOptions.Value.TurnTimeout;

    private TurnStart Accepted(StoredResponse response) => new(response, null, silo.SiloAddress);

    private TurnStart Refused(TurnError error) => TurnStart.Refused(error, silo.SiloAddress);

    private string WorkingDirectory()
    {
        var directory = Path.Combine(Path.GetFullPath(conversationOptions.Value.WorkDirectory!), state.State.Directory ?? ConversationId);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>
    /// The first turn ran in another new directory under the work root (a pre-started Claude process's, where its session lives): the
    /// conversation moves there, with the turn's images; the unused directory made for it is removed.
    /// </summary>
    private void MoveTo(string planned, string moved)
    {
        if (!string.Equals(Path.GetDirectoryName(moved), Path.GetDirectoryName(planned), StringComparison.Ordinal))
        {
            return;
        }

        state.State.Directory = Path.GetFileName(moved);
        try
        {
            var images = Path.Combine(planned, TurnImages.DirectoryName);
            if (Directory.Exists(images) && !Directory.Exists(Path.Combine(moved, TurnImages.DirectoryName)))
            {
                Directory.Move(images, Path.Combine(moved, TurnImages.DirectoryName));
            }
        }
        catch (IOException e)
        {
            LogDirectoryNotTidied(e, ConversationId, planned);
        }

        RemoveDirectoryUnlessUsed(planned);
    }

    /// <summary>Removes a conversation directory that holds nothing but the turn's images.</summary>
    private void RemoveDirectoryUnlessUsed(string directory)
    {
        try
        {
            var images = Path.Combine(directory, TurnImages.DirectoryName);
            if (Directory.Exists(images))
            {
                Directory.Delete(images, recursive: true);
            }

            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogDirectoryNotTidied(e, ConversationId, directory);
        }
    }

    private sealed class TurnOutcome
    {
        public string? SessionId { get; set; }
        public string? WorkingDirectory { get; set; }
        public TokenUsage? Usage { get; set; }
        public TokenUsage? SessionUsage { get; set; }
        public TurnError? Error { get; set; }
        public bool Completed { get; set; }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Activated conversation {ConversationId} on {SiloName}")]
    private partial void LogActivated(string conversationId, string siloName);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: marked {Count} turn(s) interrupted by a restart as failed")]
    private partial void LogInterruptedTurns(string conversationId, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Conversation {ConversationId}: CLI session {SessionId} is gone; starting a fresh session from the transcript")]
    private partial void LogSessionLost(string conversationId, string sessionId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Conversation {ConversationId}: turn {ResponseId} failed")]
    private partial void LogTurnFailed(Exception exception, string conversationId, string responseId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: could not tidy directory {Directory}")]
    private partial void LogDirectoryNotTidied(Exception exception, string conversationId, string directory);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Conversation {ConversationId}: turn {ResponseId} runs again (its node died before it produced anything)")]
    private partial void LogRerun(string conversationId, string responseId);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: stopping turn {ResponseId} ({Reason})")]
    private partial void LogStoppingTurn(string conversationId, string responseId, string reason);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: another activation wrote its state; this one deactivates")]
    private partial void LogStaleState(Exception exception, string conversationId);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Conversation {ConversationId}: could not store the end of turn {ResponseId}")]
    private partial void LogStoreFailed(Exception exception, string conversationId, string responseId);
}
