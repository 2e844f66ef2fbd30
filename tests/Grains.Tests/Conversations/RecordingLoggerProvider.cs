using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>One log entry: its event id, structured values and when it was written (<see cref="Stopwatch"/> ticks).</summary>
public sealed record LogEntry(EventId Id, LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Values, long Timestamp);

/// <summary>One CLI process as the runners logged it: started (event 3100) and, once it has, exited (event 3101).</summary>
public sealed record CliRun(int Pid, string WorkingDirectory, long StartedAt, long? ExitedAt);

/// <summary>Keeps every log entry of a host with the time it was written, so tests can see which CLI ran when.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private const int ProcessStarted = 3100;
    private const int ProcessExited = 3101;

    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    /// <summary>Entries with the event id whose <c>ConversationId</c> value is the given conversation.</summary>
    public IReadOnlyList<LogEntry> ForConversation(int eventId, string conversationId) =>
        Entries.Where(e => e.Id.Id == eventId && Equals(e.Values.GetValueOrDefault("ConversationId"), conversationId)).ToArray();

    /// <summary>The CLI processes started in the given working directory, in start order.</summary>
    public IReadOnlyList<CliRun> CliRuns(string workingDirectory)
    {
        var entries = Entries;
        var exits = entries.Where(e => e.Id.Id == ProcessExited).Select(e => (Pid: (int)e.Values["Pid"]!, e.Timestamp)).ToArray();
        return entries
            .Where(e => e.Id.Id == ProcessStarted && (string?)e.Values["WorkingDirectory"] == workingDirectory)
            .Select(e => (Pid: (int)e.Values["Pid"]!, e.Timestamp))
            .Select(s => new CliRun(
                s.Pid,
                workingDirectory,
                s.Timestamp,
                exits.Where(x => x.Pid == s.Pid && x.Timestamp >= s.Timestamp).Select(x => (long?)x.Timestamp).FirstOrDefault()))
            .OrderBy(r => r.StartedAt)
            .ToArray();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var timestamp = Stopwatch.GetTimestamp();
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value)
                : new Dictionary<string, object?>();
            owner._entries.Enqueue(new LogEntry(eventId, logLevel, formatter(state, exception), values, timestamp));
        }
    }
}
