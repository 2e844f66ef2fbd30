using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI.Responses;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// The real service for the dashboard tests (its own process, co-hosted silo, real CLIs on the stub model), with an operator key
/// (<c>Auth:AdminKey</c>) apart from the clients' key (<c>PROXY_API_KEY</c>). Other key set-ups start their own process with
/// <see cref="StartAsync"/>.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string AdminKey = "sk-orleanscodex-admin-5f0c2a9e71";

    public const string ClientKey = "sk-orleanscodex-client-3b8d41e6c0";

    /// <summary>The conversation grain's class, as the dashboard names grain types.</summary>
    public const string ConversationGrainType = "OrleansCodex.Grains.Conversations.ConversationGrain";

    public StubModelServer Stub { get; private set; } = null!;

    public CliTestEnvironment Cli { get; private set; } = null!;

    public ServiceProcess Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stub = await StubModelServer.StartAsync();
        Cli = CliTestEnvironment.Create(Stub);
        Service = await StartAsync(ClientKey, ["--Auth:AdminKey", AdminKey]);
    }

    /// <summary>Another service process over the same CLIs and stub; the caller disposes it.</summary>
    public Task<ServiceProcess> StartAsync(string? apiKey, IEnumerable<string>? arguments = null, ServiceStartOptions? options = null)
    {
        var environment = new Dictionary<string, string>(Cli.Environment)
        {
            ["CODEX_PATH"] = Cli.CodexPath,
            ["CLAUDE_PATH"] = Cli.ClaudePath,
        };
        foreach (var (name, value) in StubModelServer.MagicModels.ServiceSettings())
        {
            environment[name] = value;
        }

        return ServiceProcess.StartAsync(environment, apiKey, Cli.CreateWorkingDirectory("dashboard"), arguments, options);
    }

    /// <summary>One turn through the OpenAI API, as a client runs it: afterwards a conversation grain exists and has been called.</summary>
    public async Task<string> RunTurnAsync(string input, CancellationToken cancellationToken)
    {
        var client = Service.CreateOpenAiClient(ClientKey).GetResponsesClient();
        ResponseResult response = await client.CreateResponseAsync(StubModelServer.CodexModel, input, null, cancellationToken);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Contains(input, response.GetOutputText());
        return response.Id;
    }

    /// <summary>The dashboard's counters (<c>/dashboard/DashboardCounters</c>), read with the admin key as a bearer token.</summary>
    public static async Task<JsonElement> CountersAsync(ServiceProcess service, string adminKey, CancellationToken cancellationToken)
    {
        using var http = service.CreateHttpClient(adminKey);
        return await CountersAsync(http, cancellationToken);
    }

    /// <summary>The dashboard's counters, read with whatever credentials <paramref name="http"/> carries.</summary>
    public static async Task<JsonElement> CountersAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("dashboard/DashboardCounters", cancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>
    /// Waits (bounded) until the dashboard lists an active silo: just after a start its counters may not have been collected yet.
    /// Returns the counters.
    /// </summary>
    public static async Task<JsonElement> WaitForActiveSiloAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var counters = await CountersAsync(http, cancellationToken);
            if (counters.GetProperty("hosts").EnumerateArray().Any(h => h.GetProperty("status").GetString() == "Active"))
            {
                return counters;
            }

            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"The dashboard listed no active silo within 30 s: {counters}");
            await Task.Delay(250, cancellationToken);
        }
    }

    /// <inheritdoc cref="WaitForActiveSiloAsync(HttpClient, CancellationToken)"/>
    public static async Task<JsonElement> WaitForActiveSiloAsync(ServiceProcess service, string adminKey, CancellationToken cancellationToken)
    {
        using var http = service.CreateHttpClient(adminKey);
        return await WaitForActiveSiloAsync(http, cancellationToken);
    }

    /// <summary>
    /// Waits (bounded) until the dashboard counts calls to the conversation grain: the silos report their grain statistics about once
    /// a second. Returns the conversation grain's entry of <c>simpleGrainStats</c>.
    /// </summary>
    public static async Task<JsonElement> WaitForConversationCallsAsync(ServiceProcess service, string adminKey, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var counters = await CountersAsync(service, adminKey, cancellationToken);
            var conversation = counters.GetProperty("simpleGrainStats").EnumerateArray()
                .Where(s => s.GetProperty("grainType").GetString() == ConversationGrainType)
                .ToList();
            if (conversation.Count > 0 && conversation.Sum(s => s.GetProperty("totalCalls").GetInt32()) > 0)
            {
                return conversation[0];
            }

            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30),
                $"The dashboard counted no calls to {ConversationGrainType} within 30 s: {counters}");
            await Task.Delay(250, cancellationToken);
        }
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
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboard";
}
