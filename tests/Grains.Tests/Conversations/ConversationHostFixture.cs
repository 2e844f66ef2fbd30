using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Silo.Hosting;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>
/// A real Orleans silo for one test class, wired as the service wires it (<c>AddOrleansCodexSilo</c>): localhost clustering, grain
/// state and the turn log in SQLite in a temporary directory, and the real CLIs pointed at a stub model server. Derive and override <see cref="Settings"/> for other options.
/// </summary>
public class ConversationHostFixture : IAsyncLifetime
{
    /// <summary>The bound of any one turn, and of starting or stopping the host.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private IHost? _host;

    public StubModelServer Stub { get; private set; } = null!;

    public CliTestEnvironment Cli { get; private set; } = null!;

    /// <summary>The host's <c>Storage:DataDirectory</c>; conversations work in <c>{it}/work/{conversation id}</c>.</summary>
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"conversation-tests-{Guid.NewGuid():N}");

    /// <summary>Every log entry of the host, with when it was written.</summary>
    public RecordingLoggerProvider Logs { get; } = new();

    public IServiceProvider Services => (_host ?? throw new InvalidOperationException("The host is not started.")).Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public ConversationStore Store => Services.GetRequiredService<ConversationStore>();

    /// <summary>Settings on top of the defaults (data directory and CLI paths/environment).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public async Task InitializeAsync()
    {
        Stub = await StubModelServer.StartAsync();
        Cli = CliTestEnvironment.Create(Stub);

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Storage:DataDirectory"] = DataDirectory,
            ["Cli:TurnTimeout"] = Wait.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in Cli.ToConfiguration().Concat(Settings))
        {
            settings[key] = value;
        }

        // No default sources: the machine's environment must not change what the tests see.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Debug).AddProvider(Logs);
        builder.AddOrleansCodexSilo();
        _host = builder.Build();

        using var timeout = new CancellationTokenSource(Wait);
        await _host.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            using (var timeout = new CancellationTokenSource(Wait))
            {
                await _host.StopAsync(timeout.Token);
            }

            _host.Dispose();
        }

        Cli?.Dispose();
        if (Stub is not null)
        {
            await Stub.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A CLI killed a moment ago may still hold a file; the folder is in the temp directory anyway.
        }
    }

    public IConversationGrain Conversation(string conversationId) => Grains.GetGrain<IConversationGrain>(conversationId);

    /// <summary>The folder the CLIs of a conversation run in.</summary>
    public string WorkingDirectory(string conversationId) => Path.Combine(Path.GetFullPath(DataDirectory), "work", conversationId);

    /// <summary>
    /// Starts a turn on the conversation its response id names and watches it to its end (bounded by <see cref="Wait"/>); returns its
    /// events (a refusal is one failed event).
    /// </summary>
    public async Task<List<TurnEvent>> RunTurnAsync(TurnRequest request, CancellationToken cancellationToken = default)
    {
        Assert.True(ResponseIds.TryGetConversationId(request.ResponseId, out var conversationId), request.ResponseId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Wait);
        var conversation = Conversation(conversationId);
        var start = await conversation.Start(request, timeout.Token);
        if (start.Error is { } refused)
        {
            return [TurnEvent.Fail(refused)];
        }

        var events = new List<TurnEvent>();
        try
        {
            await foreach (var turnEvent in conversation.Watch(request.ResponseId, -1, timeout.Token))
            {
                events.Add(turnEvent);
            }
        }
        catch (OperationCanceledException)
        {
            // As the front end does when its client goes away: stop the turn too.
            await conversation.Cancel(request.ResponseId);
            throw;
        }

        return events;
    }

    /// <summary>Runs a turn that must complete; returns its terminal event.</summary>
    public async Task<TurnEvent> CompleteTurnAsync(TurnRequest request) => Turns.AssertCompleted(await RunTurnAsync(request));

    /// <summary>Polls until the condition holds, at most <see cref="Wait"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>Builds turn requests and checks the events a conversation streams.</summary>
public static class Turns
{
    public const string Codex = StubModelServer.CodexModel;

    public const string Claude = StubModelServer.ClaudeModel;

    public static TurnRequest Request(string conversationId, string model, string text, string? previousResponseId = null, string? instructions = null, bool store = true) => new()
    {
        ResponseId = ResponseIds.NewResponseId(conversationId),
        Model = model,
        Input = [InputMessage.User(text)],
        PreviousResponseId = previousResponseId,
        Instructions = instructions,
        Store = store,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>One terminal event, last, and it is <see cref="TurnEventKind.Completed"/> with the streamed text; returns it.</summary>
    public static TurnEvent AssertCompleted(IReadOnlyList<TurnEvent> events)
    {
        var terminal = AssertTerminal(events);
        Assert.True(terminal.Kind == TurnEventKind.Completed, $"expected Completed, got {terminal.Kind}: {terminal.Error}");
        Assert.Equal(terminal.Text, string.Concat(events.Where(e => e.Kind == TurnEventKind.TextDelta).Select(e => e.Text)));
        return terminal;
    }

    /// <summary>One terminal event, last, and it is a failure with the given code; returns the error.</summary>
    public static TurnError AssertFailed(IReadOnlyList<TurnEvent> events, string code)
    {
        var terminal = AssertTerminal(events);
        Assert.True(terminal.Kind == TurnEventKind.Failed, $"expected Failed({code}), got {terminal.Kind}: {terminal.Text}");
        Assert.Equal(code, terminal.Error!.Code);
        return terminal.Error;
    }

    /// <summary>The stub's answer up to <c>" :: "</c>: <c>ECHO turn=N prior_assistant=M[ instruction=W]</c>.</summary>
    public static string Head(string answer)
    {
        var end = answer.IndexOf(" :: ", StringComparison.Ordinal);
        Assert.True(end > 0, $"not a stub answer: {answer}");
        return answer[..end];
    }

    private static TurnEvent AssertTerminal(IReadOnlyList<TurnEvent> events)
    {
        Assert.NotEmpty(events);
        Assert.Single(events, e => e.IsTerminal);
        Assert.True(events[^1].IsTerminal, "the terminal event must come last");
        return events[^1];
    }
}
