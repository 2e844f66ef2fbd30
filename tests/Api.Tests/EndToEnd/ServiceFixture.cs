using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.EndToEnd;

/// <summary>
/// One running service for the end-to-end tests: the real Api process over SQLite, the real pinned CLIs, and the stub model
/// server on 127.0.0.1 that both CLIs call. Tests in the collection share it and run one after another.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-orleanscodex-e2e-0123456789";

    public StubModelServer Stub { get; private set; } = null!;

    public CliTestEnvironment Cli { get; private set; } = null!;

    public ServiceProcess Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stub = await StubModelServer.StartAsync();
        Cli = CliTestEnvironment.Create(Stub);
        Service = await StartServiceAsync(Cli, ApiKey);
    }

    /// <summary>
    /// Starts another service over the same CLIs (e.g. with other settings), in a new working directory or in
    /// <paramref name="directory"/> (its data under <c>{directory}/data</c>: pass a stopped service's to restart it); the caller disposes it.
    /// </summary>
    public static Task<ServiceProcess> StartServiceAsync(CliTestEnvironment cli, string? apiKey, IEnumerable<string>? extraArguments = null, string? directory = null)
    {
        var environment = new Dictionary<string, string>(cli.Environment)
        {
            ["CODEX_PATH"] = cli.CodexPath,
            ["CLAUDE_PATH"] = cli.ClaudePath,
            ["Serilog__MinimumLevel__Default"] = "Information",
        };
        foreach (var (name, value) in StubModelServer.MagicModels.ServiceSettings())
        {
            environment[name] = value;
        }

        return ServiceProcess.StartAsync(environment, apiKey, directory ?? cli.CreateWorkingDirectory("service"), extraArguments);
    }

    public async Task DisposeAsync()
    {
        if (Service is not null)
        {
            await Service.DisposeAsync();
        }

        Cli?.Dispose();
        if (Stub is not null)
        {
            await Stub.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "End to end";
}
