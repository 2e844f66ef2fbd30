using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace OrleansCodex.Grains.Storage;

/// <summary>
/// Migrates the database while the host starts. It runs in <see cref="IHostedLifecycleService.StartingAsync"/>, which the host
/// calls before any hosted service's <c>StartAsync</c> and before the web server listens, so nothing touches an old schema.
/// The runner is resolved only then: the host builds hosted services before it validates options, and building the database
/// from invalid options would hide the complete validation report behind one error.
/// </summary>
internal sealed class MigrationService(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
