using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>A stub model server and a CLI environment pointed at it, shared by the tests of one class.</summary>
public sealed class CliFixture : IAsyncLifetime
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    public StubModelServer Stub { get; private set; } = null!;

    public CliTestEnvironment Environment { get; private set; } = null!;

    public CapturingLoggerProvider Logs { get; } = new();

    public async Task InitializeAsync()
    {
        Stub = await StubModelServer.StartAsync();
        Environment = CliTestEnvironment.Create(Stub);
    }

    public async Task DisposeAsync()
    {
        Environment?.Dispose();
        if (Stub is not null)
        {
            await Stub.DisposeAsync();
        }
    }

    public CliOptions Options(Action<CliOptions>? configure = null)
    {
        var options = new CliOptions
        {
            CodexPath = Environment.CodexPath,
            ClaudePath = Environment.ClaudePath,
            ExtraEnvironment = new Dictionary<string, string>(Environment.Environment, StringComparer.Ordinal),
        };
        configure?.Invoke(options);
        return options;
    }

    public CodexExecRunner Codex(Action<CliOptions>? configure = null) =>
        new(new FixedOptionsMonitor<CliOptions>(Options(configure)), LoggerFactory().CreateLogger<CodexExecRunner>(), TimeProvider.System);

    public ClaudePrintRunner Claude(Action<CliOptions>? configure = null) =>
        new(new FixedOptionsMonitor<CliOptions>(Options(configure)), LoggerFactory().CreateLogger<ClaudePrintRunner>(), TimeProvider.System);

    /// <summary>A loopback port nobody listens on (just released by a listener): connections to it are refused.</summary>
    public static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public ILoggerFactory LoggerFactory() => Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));

    public CliTurn CodexTurn(string prompt, string? model = null, string? workingDirectory = null) => new()
    {
        Provider = CliProvider.Codex,
        Model = model ?? StubModelServer.CodexModel,
        Prompt = prompt,
        WorkingDirectory = workingDirectory ?? Environment.CreateWorkingDirectory("codex"),
        Timeout = TestTimeout,
    };

    public CliTurn ClaudeTurn(string prompt, string? model = null, string? workingDirectory = null) => new()
    {
        Provider = CliProvider.Claude,
        Model = model ?? StubModelServer.ClaudeModel,
        Prompt = prompt,
        WorkingDirectory = workingDirectory ?? Environment.CreateWorkingDirectory("claude"),
        NewSessionId = Guid.NewGuid().ToString(),
        Timeout = TestTimeout,
    };

    /// <summary>Runs a turn to its end (bounded by <see cref="TestTimeout"/>) and returns all its events.</summary>
    public static async Task<List<TurnEvent>> RunToEndAsync(ICliRunner runner, CliTurn turn)
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        var events = new List<TurnEvent>();
        await foreach (var turnEvent in runner.RunAsync(turn, timeout.Token))
        {
            events.Add(turnEvent);
        }

        return events;
    }
}

/// <summary>Asserts the event protocol every runner keeps, and returns the terminal event.</summary>
public static class TurnEvents
{
    public static TurnEvent AssertWellFormed(IReadOnlyList<TurnEvent> events)
    {
        Assert.NotEmpty(events);
        Assert.Single(events, e => e.IsTerminal);
        Assert.True(events[^1].IsTerminal, "the terminal event must come last");
        return events[^1];
    }

    public static TurnEvent AssertCompleted(IReadOnlyList<TurnEvent> events)
    {
        var terminal = AssertWellFormed(events);
        Assert.True(terminal.Kind == TurnEventKind.Completed, $"expected Completed, got {terminal.Kind}: {terminal.Error}");
        Assert.Equal(TurnEventKind.SessionStarted, events[0].Kind);
        Assert.Equal(terminal.Text, string.Concat(events.Where(e => e.Kind == TurnEventKind.TextDelta).Select(e => e.Text)));
        return terminal;
    }

    public static TurnError AssertFailed(IReadOnlyList<TurnEvent> events, string code)
    {
        var terminal = AssertWellFormed(events);
        Assert.True(terminal.Kind == TurnEventKind.Failed, $"expected Failed({code}), got {terminal.Kind}: {terminal.Text}");
        Assert.Equal(code, terminal.Error!.Code);
        return terminal.Error;
    }
}

public sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>Keeps every log entry with its structured values, so tests can find the pid of a CLI process.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(EventId Id, string Message, IReadOnlyDictionary<string, object?> Values)> _entries = new();

    public IReadOnlyList<(EventId Id, string Message, IReadOnlyDictionary<string, object?> Values)> Entries => _entries.ToArray();

    /// <summary>Pids of the CLI processes started so far, in order.</summary>
    public IReadOnlyList<int> StartedPids => Entries.Where(e => e.Id.Id == 3100).Select(e => (int)e.Values["Pid"]!).ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value)
                : new Dictionary<string, object?>();
            owner._entries.Enqueue((eventId, formatter(state, exception), values));
        }
    }
}
