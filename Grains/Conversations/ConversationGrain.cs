using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Cluster;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// One conversation (a <c>previous_response_id</c> tree). Turn-based execution serialises its turns, so its CLI session has one
/// writer. A turn that continues the head resumes the session with only the new input; any other turn (a fork, a provider
/// switch, a session left on another node or lost) starts a fresh session seeded with the transcript up to its parent.
/// </summary>
[GrainType("conversation")]
[PreferLocalPlacement]
[MetadataPlacementFilter(ModelRouting.ProviderRequestContextKey, ModelRouting.ProvidersMetadataKey)]
public sealed partial class ConversationGrain(
    [PersistentState("conversation")] IPersistentState<ConversationState> state,
    ConversationStore store,
    CliWorkerPool workers,
    IOptions<ConversationOptions> conversationOptions,
    IOptions<CliOptions> cliOptions,
    ILocalSiloDetails silo,
    ServedProviders served,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain
{
    private static readonly TurnError Interrupted = new(TurnErrorCodes.ServerError, "The turn was interrupted because the server stopped before it finished.");

    private string ConversationId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Only this activation writes this conversation's rows, so a row still in progress belongs to one that died mid-turn.
        var interrupted = await store.FailInterruptedAsync(ConversationId, Interrupted, cancellationToken);
        if (interrupted > 0)
        {
            LogInterruptedTurns(ConversationId, interrupted);
        }
    }

    public Task<StoredResponse?> GetResponse(string responseId) => store.GetAsync(ConversationId, responseId, CancellationToken.None);

    public Task<bool> DeleteResponse(string responseId) => store.DeleteAsync(ConversationId, responseId, CancellationToken.None);

    public async IAsyncEnumerable<TurnEvent> RunTurn(TurnRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StoredResponse? parent = null;
        if (request.PreviousResponseId is { } previousId)
        {
            parent = await store.GetAsync(ConversationId, previousId, cancellationToken);
            if (parent is null || parent.Status == ResponseStatus.InProgress)
            {
                yield return TurnEvent.Fail(new TurnError(TurnErrorCodes.PreviousResponseNotFound, $"Previous response with id '{previousId}' not found."));
                yield break;
            }
        }

        var provider = ModelRouting.ProviderFor(request.Model);
        if (!served.Serves(provider))
        {
            // Placement keeps new conversations off such nodes; an existing one stays where its history and session are.
            yield return TurnEvent.Fail(new TurnError(TurnErrorCodes.ProviderUnavailable,
                $"This conversation runs on node '{silo.Name}', which does not serve {ModelRouting.ProviderName(provider)} ({ServedProviders.SettingName} = {served.Setting}). Start a new conversation to use {request.Model}."));
            yield break;
        }

        if (!request.Store && state.State.HeadResponseId is null)
        {
            // A stateless turn (chat completions, store:false) leaves nothing to come back to: free the activation right after it.
            DeactivateOnIdle();
        }

        if (request.Store && !await store.InsertAsync(NewRecord(request), cancellationToken))
        {
            yield return TurnEvent.Fail(new TurnError(TurnErrorCodes.ServerError, $"A response with id '{request.ResponseId}' already exists."));
            yield break;
        }

        var outcome = new TurnOutcome();
        TurnPlan? plan = null;
        try
        {
            plan = await PlanAsync(request, parent, provider, cancellationToken);
            await foreach (var turnEvent in RunOnWorkerAsync(plan, outcome, cancellationToken))
            {
                yield return turnEvent;
            }

            // A resumed session that vanished (its files were removed) is replaced by a fresh one seeded with the transcript.
            if (outcome.Error?.Code == TurnErrorCodes.SessionNotFound && plan.Turn.ResumeSessionId is { } lostSession)
            {
                LogSessionLost(ConversationId, lostSession);
                state.State.Session = null;
                await state.WriteStateAsync(CancellationToken.None);
                plan = await PlanAsync(request, parent, provider, cancellationToken, forceFresh: true);
                outcome = new TurnOutcome();
                await foreach (var turnEvent in RunOnWorkerAsync(plan, outcome, cancellationToken))
                {
                    yield return turnEvent;
                }
            }

            await FinishAsync(request, plan, outcome);
        }
        finally
        {
            // Reached without finishing only when the caller cancelled or went away: store the turn as cancelled.
            if (!outcome.Finished)
            {
                outcome.Error ??= new TurnError(TurnErrorCodes.Cancelled, "The client cancelled the turn.");
                await FinishAsync(request, plan, outcome);
            }
        }

        yield return outcome.Error is { } error
            ? TurnEvent.Fail(error)
            : TurnEvent.Done(outcome.Text.ToString(), outcome.Usage ?? TokenUsage.Zero);
    }

    /// <summary>Streams the worker's text deltas and captures the outcome in <paramref name="outcome"/>; cancellation propagates (RunTurn records it).</summary>
    private async IAsyncEnumerable<TurnEvent> RunOnWorkerAsync(TurnPlan plan, TurnOutcome outcome, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (lease, refusal) = await workers.AcquireAsync(plan.Turn.Provider, cancellationToken);
        using var _ = lease;
        if (lease is null)
        {
            outcome.Error = refusal == WorkerRefusal.QueueFull
                ? new TurnError(TurnErrorCodes.QueueFull, $"All {plan.Turn.Provider} workers on this node are busy and {workers.QueuedCount(plan.Turn.Provider)} turns are already waiting; try again later.")
                : new TurnError(TurnErrorCodes.Overloaded, $"All {plan.Turn.Provider} workers on this node stayed busy; try again shortly.");
            yield break;
        }

        var worker = GrainFactory.GetGrain<ICliWorkerGrain>(lease.Key);
        await using var events = worker.RunTurn(plan.Turn, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            TurnEvent turnEvent;
            try
            {
                if (!await events.MoveNextAsync())
                {
                    outcome.Error ??= outcome.Completed ? null : new TurnError(TurnErrorCodes.ServerError, "The CLI worker ended the turn without a result.");
                    yield break;
                }

                turnEvent = events.Current;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogWorkerFailed(e, ConversationId, lease.Key);
                outcome.Error = new TurnError(TurnErrorCodes.ServerError, "The CLI worker failed: " + e.Message);
                yield break;
            }

            switch (turnEvent.Kind)
            {
                case TurnEventKind.SessionStarted:
                    outcome.SessionId = turnEvent.SessionId;
                    outcome.WorkingDirectory = turnEvent.WorkingDirectory;
                    break;
                case TurnEventKind.TextDelta:
                    outcome.Text.Append(turnEvent.Text);
                    yield return turnEvent;
                    break;
                case TurnEventKind.Completed:
                    outcome.Completed = true;
                    outcome.Usage = turnEvent.Usage;
                    outcome.SessionUsage = turnEvent.SessionUsage;
                    // Exec-style CLIs report the whole answer only at the end; the deltas already sent are its prefix.
                    if (turnEvent.Text is { } text && text.Length > outcome.Text.Length && text.StartsWith(outcome.Text.ToString(), StringComparison.Ordinal))
                    {
                        var rest = text[outcome.Text.Length..];
                        outcome.Text.Append(rest);
                        yield return TurnEvent.Delta(rest);
                    }

                    break;
                case TurnEventKind.Failed:
                    outcome.Error = turnEvent.Error;
                    break;
            }
        }
    }

    private async Task<TurnPlan> PlanAsync(TurnRequest request, StoredResponse? parent, CliProvider provider, CancellationToken cancellationToken, bool forceFresh = false)
    {
        var session = state.State.Session;
        var timeout = cliOptions.Value.TurnTimeout;
        if (request.Timeout is { } requested && requested < timeout)
        {
            timeout = requested;
        }

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
            Timeout = timeout,
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
            return new TurnPlan(turn with
            {
                Prompt = PromptBuilder.ForInput(request.Input), Images = images, ResumeSessionId = session!.SessionId, SessionUsageBefore = session.Usage,
            });
        }

        var history = parent is null ? [] : await store.GetChainAsync(ConversationId, parent.Id, cancellationToken);
        return new TurnPlan(turn with
        {
            Prompt = PromptBuilder.WithTranscript(history, request.Input),
            Images = images,
            NewSessionId = provider == CliProvider.Claude && request.Store ? Guid.NewGuid().ToString() : null,
        });
    }

    /// <summary>Stores the outcome and moves the head; runs even when the client has gone, so nothing is half-written.</summary>
    private async Task FinishAsync(TurnRequest request, TurnPlan? plan, TurnOutcome outcome)
    {
        if (outcome.Finished)
        {
            return;
        }

        outcome.Finished = true;
        if (plan?.Turn.FreshWorkingDirectory == true && (!request.Store || outcome.Error is not null))
        {
            // Nobody comes back to a stateless conversation, nor continues one whose first turn failed: keep only what a CLI wrote.
            // (A Claude spare's directory the turn ran in instead is the runner's to remove.)
            RemoveDirectoryUnlessUsed(plan.Turn.WorkingDirectory);
        }

        if (!request.Store)
        {
            return;
        }

        var status = outcome.Error switch
        {
            null => ResponseStatus.Completed,
            { Code: TurnErrorCodes.Cancelled } => ResponseStatus.Cancelled,
            _ => ResponseStatus.Failed,
        };
        await store.CompleteAsync(request.ResponseId, status, outcome.Text.ToString(), outcome.Usage, outcome.Error, CancellationToken.None);

        if (outcome.Error is null && outcome.SessionId is { } sessionId && plan is not null)
        {
            if (plan.Turn.FreshWorkingDirectory && outcome.WorkingDirectory is { } moved && moved != plan.Turn.WorkingDirectory)
            {
                MoveTo(plan.Turn.WorkingDirectory, moved);
            }

            state.State.HeadResponseId = request.ResponseId;
            state.State.Session = new CliSessionState
            {
                Provider = plan.Turn.Provider,
                SessionId = sessionId,
                ResponseId = request.ResponseId,
                Host = silo.Name,
                Usage = outcome.SessionUsage,
                Instructions = plan.Turn.Provider == CliProvider.Codex ? plan.Turn.Instructions : null,
            };
        }
        else if (outcome.Error is null)
        {
            state.State.HeadResponseId = request.ResponseId;
        }
        else if (plan?.Turn.ResumeSessionId is not null)
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

    private StoredResponse NewRecord(TurnRequest request) => new()
    {
        Id = request.ResponseId,
        ConversationId = ConversationId,
        PreviousResponseId = request.PreviousResponseId,
        Model = request.Model,
        Status = ResponseStatus.InProgress,
        CreatedAt = request.CreatedAt,
        Instructions = request.Instructions,
        Metadata = request.Metadata,
        Input = request.Input,
        ReasoningEffort = request.ReasoningEffort,
        OutputFormat = request.OutputFormat,
    };

    private sealed record TurnPlan(CliTurn Turn);

    private sealed class TurnOutcome
    {
        public StringBuilder Text { get; } = new();
        public string? SessionId { get; set; }
        public string? WorkingDirectory { get; set; }
        public TokenUsage? Usage { get; set; }
        public TokenUsage? SessionUsage { get; set; }
        public TurnError? Error { get; set; }
        public bool Completed { get; set; }
        public bool Finished { get; set; }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: marked {Count} turn(s) interrupted by a restart as failed")]
    private partial void LogInterruptedTurns(string conversationId, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Conversation {ConversationId}: CLI session {SessionId} is gone; starting a fresh session from the transcript")]
    private partial void LogSessionLost(string conversationId, string sessionId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Conversation {ConversationId}: worker {WorkerKey} failed")]
    private partial void LogWorkerFailed(Exception exception, string conversationId, string workerKey);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: could not tidy directory {Directory}")]
    private partial void LogDirectoryNotTidied(Exception exception, string conversationId, string directory);
}
