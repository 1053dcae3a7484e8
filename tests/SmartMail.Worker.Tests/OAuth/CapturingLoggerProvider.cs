using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// An in-memory <see cref="ILoggerProvider"/> that takes every level of every category and keeps each line whole: the
/// category, the formatted message, every value of its state, and the full exception text (inner exceptions and stack
/// included), so that a test can look for a secret anywhere a log sink could write it.
/// </summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, EventId Event, string Text)> _lines = new();

    public IReadOnlyList<(string Category, LogLevel Level, EventId Event, string Text)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, EventId, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue((category, LogLevel.Trace, default, "scope: " + state));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" | ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : state?.ToString();
            lines.Enqueue((category, logLevel, eventId, $"{formatter(state, exception)} || {values} || {exception}"));
        }
    }
}
