using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Silo.Tests.Hosting;

/// <summary>One log entry as a host wrote it.</summary>
public sealed record LogEntry(string Category, EventId Id, LogLevel Level, string Message);

/// <summary>Keeps every log entry of a host (Information and above), so tests can look for what was reported.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._entries.Enqueue(new LogEntry(category, eventId, logLevel, formatter(state, exception)));
            }
        }
    }
}
