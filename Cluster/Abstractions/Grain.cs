namespace OrleansCodex.Cluster;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReasonCode { None, IdleTimeout, ApplicationRequested, ShuttingDown, ActivationFailed, InconsistentState }

/// <summary>Base class of grain implementations, like Orleans' <c>Grain</c>.</summary>
public abstract class Grain
{
    internal IGrainContext? Context { get; set; }

    private IGrainContext RequiredContext =>
        Context ?? throw new InvalidOperationException("The grain is not activated yet: the runtime sets its context before OnActivateAsync.");

    /// <summary>This grain's identity.</summary>
    public GrainId GrainId => RequiredContext.GrainId;

    /// <summary>The factory for calling other grains.</summary>
    protected IGrainFactory GrainFactory => RequiredContext.GrainFactory;

    /// <summary>Called once, after state was read and before the first call.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called when the activation is collected or the node stops. Best effort: a crash skips it.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReasonCode reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Asks the runtime to deactivate this activation once the current call finishes.</summary>
    protected void DeactivateOnIdle() => RequiredContext.DeactivateOnIdle();
}

/// <summary>What the runtime gives an activation.</summary>
internal interface IGrainContext
{
    GrainId GrainId { get; }
    IGrainFactory GrainFactory { get; }
    void DeactivateOnIdle();
}

public static class GrainExtensions
{
    /// <summary>The grain's string key, as in Orleans.</summary>
    public static string GetPrimaryKeyString(this Grain grain) => grain.GrainId.Key;
}
