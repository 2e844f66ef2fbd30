using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.Runtime;
using OrleansCodex.Cluster.Storage;

namespace OrleansCodex.Cluster.Catalog;

/// <summary>Life cycle of one activation; only moves forward.</summary>
internal enum ActivationStatus { Activating, Active, Deactivating, Deactivated }

/// <summary>
/// One activation of a grain: its instance, its mailbox and the loop that runs one turn at a time.
/// The loop is the only reader of the inbox and the only one touching <c>_waiting</c>/<c>_running</c>; callers only
/// enqueue, under <c>_lock</c>, so that "accepted" and "deactivating" can never both be true for a call.
/// </summary>
internal sealed class ActivationData : IGrainContext
{
    private static long _nextActivationId;

    private readonly GrainCatalog _catalog;
    private readonly GrainClassInfo _grainClass;
    private readonly Lock _lock = new();
    // Carries requests and wake-ups (a turn finished, deactivation asked) to the loop.
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Like Orleans' activation scheduler: grain code and its await continuations never run on two threads at once,
    // even when a [Reentrant] grain interleaves calls.
    private readonly TaskScheduler _scheduler = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
    private readonly List<GrainRequest> _waiting = [];
    private ActivationStatus _status = ActivationStatus.Activating;
    private DeactivationReasonCode _deactivationReason;
    private int _pending; // accepted calls not finished yet; guarded by _lock
    private int _running; // loop only
    private DateTimeOffset _idleSince;
    private Grain? _grain;
    private AsyncServiceScope? _scope;
    private bool _registered;

    public ActivationData(GrainCatalog catalog, GrainClassInfo grainClass, GrainId grainId)
    {
        _catalog = catalog;
        _grainClass = grainClass;
        GrainId = grainId;
        ActivationId = Interlocked.Increment(ref _nextActivationId);
        _idleSince = catalog.TimeProvider.GetUtcNow();
    }

    public GrainId GrainId { get; }

    /// <summary>Tells activations of the same grain apart in logs and tests.</summary>
    public long ActivationId { get; }

    public IGrainFactory GrainFactory => _catalog.GrainFactory;

    public PlacementStrategy Placement => _grainClass.Placement;

    /// <summary>Completes once the activation is gone from the catalog; a call it refused can then go to a new activation.</summary>
    public Task Deactivated => _deactivated.Task;

    public ActivationStatus Status
    {
        get { lock (_lock) { return _status; } }
    }

    internal Grain? GrainInstance => _grain;

    public void Start()
    {
        // The loop must not inherit the first caller's ExecutionContext (its AsyncLocals would leak into every turn).
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(RunAsync);
        }
    }

    /// <summary>Queues a call; false when the activation is deactivating (the caller waits for <see cref="Deactivated"/> and retries).</summary>
    public bool TryAccept(GrainRequest request)
    {
        lock (_lock)
        {
            if (_status >= ActivationStatus.Deactivating)
            {
                return false;
            }

            _pending++;
            _inbox.Writer.TryWrite(request); // unbounded: always succeeds while not completed, and we only complete after Deactivating
            return true;
        }
    }

    public void DeactivateOnIdle() => TryBeginDeactivation(DeactivationReasonCode.ApplicationRequested);

    /// <summary>Stops accepting calls and asks the loop to deactivate once running turns finish.</summary>
    public bool TryBeginDeactivation(DeactivationReasonCode reason)
    {
        lock (_lock)
        {
            if (_status >= ActivationStatus.Deactivating)
            {
                return false;
            }

            _status = ActivationStatus.Deactivating;
            _deactivationReason = reason;
        }

        _inbox.Writer.TryWrite(WakeUp.Instance);
        return true;
    }

    /// <summary>Starts idle deactivation when no call is queued or running and the last one ended at least <paramref name="idleAge"/> ago.</summary>
    public bool TryCollectIdle(DateTimeOffset now, TimeSpan idleAge)
    {
        lock (_lock)
        {
            if (_status != ActivationStatus.Active || _pending > 0 || now - _idleSince < idleAge)
            {
                return false;
            }

            _status = ActivationStatus.Deactivating;
            _deactivationReason = DeactivationReasonCode.IdleTimeout;
        }

        _inbox.Writer.TryWrite(WakeUp.Instance);
        return true;
    }

    private async Task RunAsync()
    {
        try
        {
            // Orleans' rule: the directory entry comes first, so no grain code or state read runs in an activation that is not the one.
            await _catalog.Directory.RegisterAsync(this, _catalog.StoppingToken);
            _registered = true;
            await ActivateAsync();
        }
        catch (Exception ex)
        {
            await FailActivationAsync(ex);
            return;
        }

        lock (_lock)
        {
            if (_status == ActivationStatus.Activating)
            {
                _status = ActivationStatus.Active;
            }

            _idleSince = _catalog.TimeProvider.GetUtcNow();
        }

        _catalog.Log.Activated(GrainId, ActivationId);
        var reader = _inbox.Reader;
        while (true)
        {
            if (Status >= ActivationStatus.Deactivating)
            {
                // Queued calls stay queued: they are handed to the next activation once this one is gone.
                if (_running == 0)
                {
                    break;
                }
            }
            else
            {
                StartRunnableRequests();
            }

            var message = await reader.ReadAsync();
            switch (message)
            {
                case GrainRequest request:
                    _waiting.Add(request);
                    break;
                case TurnEnded:
                    _running--;
                    break;
            }
        }

        await DeactivateAsync();
    }

    private void StartRunnableRequests()
    {
        for (var i = 0; i < _waiting.Count;)
        {
            var request = _waiting[i];
            // Orleans' rule: a call may start when nothing runs, or when it may interleave (reentrant class or [AlwaysInterleave] method).
            if (_running > 0 && !_grainClass.IsReentrant && !request.Method.AlwaysInterleave)
            {
                i++;
                continue;
            }

            // A running turn may have asked for deactivation meanwhile: what is still queued then goes to the next activation.
            if (Status >= ActivationStatus.Deactivating)
            {
                return;
            }

            _waiting.RemoveAt(i);
            if (!request.TryStart())
            {
                FinishPending();
                continue;
            }

            _running++;
            _ = Task.Factory.StartNew(
                () => request.RunAsync(_grain!, error => OnTurnEnded(request, error)),
                CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();
        }
    }

    private void OnTurnEnded(GrainRequest request, Exception? error)
    {
        if (error is InconsistentStateException inconsistent)
        {
            // Orleans deactivates an activation whose state proved stale; do it before the caller sees the exception so its
            // next call already goes to a fresh activation that reads the current state.
            _catalog.Log.InconsistentState(GrainId, ActivationId, request.Method.Name, inconsistent.CurrentEtag, inconsistent.StoredEtag);
            TryBeginDeactivation(DeactivationReasonCode.InconsistentState);
        }

        FinishPending();
        _inbox.Writer.TryWrite(TurnEnded.Instance);
    }

    private void FinishPending()
    {
        lock (_lock)
        {
            _pending--;
            _idleSince = _catalog.TimeProvider.GetUtcNow();
        }
    }

    private Task RunOnScheduler(Func<Task> action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();

    private Task ActivateAsync() => RunOnScheduler(async () =>
    {
        _scope = _catalog.Services.CreateAsyncScope();
        var services = _scope.Value.ServiceProvider;
        var states = new List<IPersistentStateLoader>();
        var arguments = new object?[_grainClass.Parameters.Count];
        for (var i = 0; i < arguments.Length; i++)
        {
            var parameter = _grainClass.Parameters[i];
            if (parameter.StateType is not null)
            {
                var state = (IPersistentStateLoader)Activator.CreateInstance(
                    typeof(PersistentState<>).MakeGenericType(parameter.StateType), parameter.StateName!, GrainId, _catalog.Storage)!;
                states.Add(state);
                arguments[i] = state;
            }
            else
            {
                arguments[i] = services.GetService(parameter.Parameter.ParameterType)
                    ?? (parameter.Parameter.HasDefaultValue
                        ? parameter.Parameter.DefaultValue
                        : throw new InvalidOperationException(
                            $"Cannot activate grain {GrainId}: no service of type {parameter.Parameter.ParameterType.FullName} for constructor parameter '{parameter.Parameter.Name}' of {_grainClass.ImplementationType.Name}."));
            }
        }

        var grain = (Grain)_grainClass.Constructor.Invoke(System.Reflection.BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
        grain.Context = this;
        _grain = grain;

        // Orleans reads every state before OnActivateAsync; a failed read fails the activation.
        foreach (var state in states)
        {
            await state.ReadStateAsync(_catalog.StoppingToken);
        }

        await grain.OnActivateAsync(_catalog.StoppingToken);
    });

    private async Task FailActivationAsync(Exception exception)
    {
        if (exception is DuplicateActivationException)
        {
            _catalog.Log.ActivationElsewhere(GrainId, ActivationId, exception.Message);
        }
        else
        {
            _catalog.Log.ActivationFailed(exception, GrainId, ActivationId);
        }

        lock (_lock)
        {
            _status = ActivationStatus.Deactivated;
            _deactivationReason = DeactivationReasonCode.ActivationFailed;
        }

        // Calls accepted before the failure fail with its exception (as in Orleans); later ones retry on a new activation.
        _inbox.Writer.TryComplete();
        while (_inbox.Reader.TryRead(out var message))
        {
            if (message is GrainRequest request)
            {
                request.Fail(exception);
            }
        }

        await DisposeGrainAsync();
        await UnregisterAsync();
        _catalog.Remove(this);
        _deactivated.TrySetResult();
    }

    private async Task UnregisterAsync()
    {
        if (_registered)
        {
            _registered = false;
            await _catalog.Directory.UnregisterAsync(this);
        }
    }

    private async Task DeactivateAsync()
    {
        DeactivationReasonCode reason;
        lock (_lock)
        {
            reason = _deactivationReason;
        }

        try
        {
            // Bounded: a grain that ignores the token must not hold the calls queued for its next activation forever.
            using var timeout = new CancellationTokenSource(_catalog.Options.ShutdownTimeout, _catalog.TimeProvider);
            await RunOnScheduler(() => _grain!.OnDeactivateAsync(reason, timeout.Token))
                .WaitAsync(_catalog.Options.ShutdownTimeout, _catalog.TimeProvider);
        }
        catch (Exception ex)
        {
            // Best effort, as in Orleans: a failing OnDeactivateAsync must not keep the activation (and its calls) alive.
            _catalog.Log.DeactivationFailed(ex, GrainId, ActivationId, reason);
        }

        await DisposeGrainAsync();
        lock (_lock)
        {
            _status = ActivationStatus.Deactivated;
        }

        _inbox.Writer.TryComplete();
        // Before the leftovers go to a next activation, which registers anew.
        await UnregisterAsync();
        var leftovers = new List<GrainRequest>(_waiting);
        _waiting.Clear();
        while (_inbox.Reader.TryRead(out var message))
        {
            if (message is GrainRequest request)
            {
                leftovers.Add(request);
            }
        }

        _catalog.Remove(this);
        _catalog.Log.Deactivated(GrainId, ActivationId, reason);

        // Calls that queued here never ran: they go, in order, to the next activation before anyone waiting to retry.
        foreach (var request in leftovers)
        {
            _catalog.Dispatch(request);
        }

        _deactivated.TrySetResult();
    }

    private async Task DisposeGrainAsync()
    {
        try
        {
            switch (_grain)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }

            if (_scope is { } scope)
            {
                await scope.DisposeAsync();
            }
        }
        catch (Exception ex)
        {
            _catalog.Log.DeactivationFailed(ex, GrainId, ActivationId, _deactivationReason);
        }
    }

    private sealed class WakeUp
    {
        public static readonly WakeUp Instance = new();
    }

    private sealed class TurnEnded
    {
        public static readonly TurnEnded Instance = new();
    }
}
