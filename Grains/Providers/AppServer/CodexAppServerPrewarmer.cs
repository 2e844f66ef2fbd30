using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>
/// Starts this node's <c>codex app-server</c> when the node starts (<c>Workers:Prewarm</c>, only when the node serves Codex in
/// <see cref="CodexMode.AppServer"/>), so the first Codex turn does not pay for the start, and starts a new one as soon as it ends
/// (a crash, a kill, a restart of a stuck process) instead of on the next turn. A Codex that cannot be started does not stop the
/// node: it is logged and retried with a growing pause, and the provider status reports why.
/// </summary>
public sealed class CodexAppServerPrewarmer(
    CodexAppServer appServer,
    IOptions<WorkerOptions> workerOptions,
    IOptions<CliOptions> cliOptions,
    ServedProviders servedProviders,
    ILogger<CodexAppServerPrewarmer> logger,
    TimeProvider timeProvider) : BackgroundService
{
    /// <summary>The first pause after a failed start, or after a process that ended within <see cref="MinimumLifetime"/>; it doubles up to <see cref="MaximumRetryDelay"/>.</summary>
    internal static readonly TimeSpan InitialRetryDelay = TimeSpan.FromSeconds(2);

    internal static readonly TimeSpan MaximumRetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>A process that ends sooner than this after its start is replaced only after a pause: it would crash again at once.</summary>
    private static readonly TimeSpan MinimumLifetime = TimeSpan.FromSeconds(10);

    /// <summary>Whether this node keeps an app-server warm at all.</summary>
    public bool Enabled => workerOptions.Value.Prewarm && servedProviders.Serves(CliProvider.Codex) && cliOptions.Value.CodexMode == CodexMode.AppServer;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var retryDelay = InitialRetryDelay;
        try
        {
            while (true)
            {
                var started = timeProvider.GetTimestamp();
                Task<string> exited;
                try
                {
                    exited = await appServer.EnsureStartedAsync(stoppingToken);
                }
                catch (AppServerUnavailableException e)
                {
                    AppServerLog.PrewarmFailed(logger, e.Message, retryDelay);
                    await Task.Delay(retryDelay, timeProvider, stoppingToken);
                    retryDelay = Grow(retryDelay);
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                await exited.WaitAsync(stoppingToken);
                if (timeProvider.GetElapsedTime(started) < MinimumLifetime)
                {
                    await Task.Delay(retryDelay, timeProvider, stoppingToken);
                    retryDelay = Grow(retryDelay);
                }
                else
                {
                    retryDelay = InitialRetryDelay;
                }

                AppServerLog.Replacing(logger);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan Grow(TimeSpan delay) => delay * 2 < MaximumRetryDelay ? delay * 2 : MaximumRetryDelay;
}
