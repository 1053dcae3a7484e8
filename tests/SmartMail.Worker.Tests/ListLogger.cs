using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Tests;

/// <summary>Captures every formatted log line at every level with its event id (an exception on a line of its own).</summary>
/// <typeparam name="T">The category.</typeparam>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<(int EventId, string Line)> _entries = [];

    /// <summary>The lines, oldest first.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Select(e => e.Line)];
            }
        }
    }

    /// <summary>The lines logged with <paramref name="eventId"/>.</summary>
    public IReadOnlyList<string> With(int eventId)
    {
        lock (_entries)
        {
            return [.. _entries.Where(e => e.EventId == eventId).Select(e => e.Line)];
        }
    }

    /// <summary>Forgets what was logged so far.</summary>
    public void Clear()
    {
        lock (_entries)
        {
            _entries.Clear();
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((eventId.Id, formatter(state, exception) + (exception is null ? "" : "\n" + exception)));
        }
    }
}
