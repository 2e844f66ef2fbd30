using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>
/// Caches whether each CLI is installed and logged in. Start-up only launches the first check in the background (a probe of
/// Claude takes ~0.6 s); the statuses are then refreshed every <see cref="CliOptions.StatusRefreshInterval"/>, and a caller who
/// finds a status older than that waits for a fresh check. Concurrent callers share one check per provider.
/// </summary>
public sealed class ProviderStatusService(
    IEnumerable<ICliRunner> runners,
    IOptionsMonitor<CliOptions> options,
    TimeProvider timeProvider,
    ILogger<ProviderStatusService> logger) : IProviderStatusService, IHostedService, IDisposable
{
    private readonly Dictionary<CliProvider, ICliRunner> _runners = runners.ToDictionary(r => r.Provider);
    private readonly Dictionary<CliProvider, Entry> _entries = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _refreshLoop = Task.CompletedTask;

    public ValueTask<ProviderStatus> GetStatusAsync(CliProvider provider, CancellationToken cancellationToken = default)
    {
        Task<ProviderStatus> check;
        lock (_lock)
        {
            if (_entries.TryGetValue(provider, out var entry) && entry.Status is { } status && !IsStale(entry))
            {
                return ValueTask.FromResult(status);
            }

            check = StartCheck(provider);
        }

        return new ValueTask<ProviderStatus>(check.WaitAsync(cancellationToken));
    }

    public async ValueTask<IReadOnlyList<ProviderStatus>> GetStatusesAsync(CancellationToken cancellationToken = default)
    {
        var statuses = new List<ProviderStatus>();
        foreach (var provider in Enum.GetValues<CliProvider>())
        {
            statuses.Add(await GetStatusAsync(provider, cancellationToken));
        }

        return statuses;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var provider in Enum.GetValues<CliProvider>())
            {
                StartCheck(provider);
            }
        }

        _refreshLoop = RefreshLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _refreshLoop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private bool IsStale(Entry entry) => timeProvider.GetUtcNow() - entry.CheckedAt > options.CurrentValue.StatusRefreshInterval;

    /// <summary>Returns the running check of <paramref name="provider"/>, or starts one. Call under the lock.</summary>
    private Task<ProviderStatus> StartCheck(CliProvider provider)
    {
        _entries.TryGetValue(provider, out var entry);
        if (entry?.Running is { } running)
        {
            return running;
        }

        var check = CheckAsync(provider);
        _entries[provider] = (entry ?? new Entry()) with { Running = check };
        return check;
    }

    private async Task<ProviderStatus> CheckAsync(CliProvider provider)
    {
        await Task.Yield();
        ProviderStatus status;
        try
        {
            status = _runners.TryGetValue(provider, out var runner)
                ? await runner.CheckAsync(_stopping.Token)
                : new ProviderStatus(provider, false, $"No runner is registered for {provider}.", null, null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            CliLog.StatusCheckFailed(logger, e, provider);
            status = new ProviderStatus(provider, false, $"The {provider} status check failed: {e.Message}", null, null);
        }

        lock (_lock)
        {
            _entries[provider] = new Entry { Status = status, CheckedAt = timeProvider.GetUtcNow() };
        }

        return status;
    }

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(options.CurrentValue.StatusRefreshInterval, timeProvider);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Task[] checks;
                lock (_lock)
                {
                    checks = Enum.GetValues<CliProvider>().Select(StartCheck).ToArray();
                }

                await Task.WhenAll(checks);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed record Entry
    {
        public ProviderStatus? Status { get; init; }

        public DateTimeOffset CheckedAt { get; init; }

        public Task<ProviderStatus>? Running { get; init; }
    }
}
