using Microsoft.Extensions.Logging;

namespace OrleansCodex.Cluster.Membership;

/// <summary>Raises membership events the same way for the agent and the observer.</summary>
internal static class MembershipEvents
{
    /// <summary>Calls every subscriber; one that throws is logged and the others still run, and the caller never sees the exception.</summary>
    public static void Raise<T>(object sender, EventHandler<T>? handler, T args, ILogger logger)
    {
        if (handler is null)
        {
            return;
        }

        foreach (var subscriber in handler.GetInvocationList().Cast<EventHandler<T>>())
        {
            try
            {
                subscriber(sender, args);
            }
            catch (Exception ex)
            {
                logger.EventHandlerFailed(ex, typeof(T).Name);
            }
        }
    }
}
