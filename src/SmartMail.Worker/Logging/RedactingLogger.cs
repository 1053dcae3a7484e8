using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Logging;

/// <summary>
/// Hands the inner logger only redacted data: the formatted message, the structured values and scopes as
/// <see cref="RedactedLogState"/>, the exception as a <see cref="RedactedException"/>. Nothing is done for a level
/// that is off.
/// </summary>
/// <param name="inner">The logger of the real factory.</param>
internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(RedactedLogState.OfScope(state));

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }
        var redacted = RedactedLogState.Of(state, formatter(state, exception));
        inner.Log(logLevel, eventId, redacted, RedactedException.Of(exception), static (s, _) => s.Message);
    }
}
