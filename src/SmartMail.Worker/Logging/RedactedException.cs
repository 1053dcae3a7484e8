using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Logging;

/// <summary>
/// What a logging provider gets in place of an exception whose text holds personal data (an SMTP relay's reply, a file
/// name, a parser's message): the same text with CPR numbers and addresses redacted. <see cref="ToString"/> is the
/// original's, type names, inner exceptions and stack included, redacted; <see cref="Exception.Message"/>,
/// <see cref="StackTrace"/> and <see cref="Exception.InnerException"/> are redacted likewise.
/// </summary>
public sealed class RedactedException : Exception
{
    private readonly string _text;
    private readonly string? _stackTrace;

    /// <summary>Creates an empty one.</summary>
    public RedactedException()
        : this(string.Empty)
    {
    }

    /// <summary>Creates one with a message (redacted).</summary>
    /// <param name="message">The message.</param>
    public RedactedException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates one with a message (redacted) and an inner exception (redacted).</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The inner exception.</param>
    public RedactedException(string message, Exception? innerException)
        : base(Redactor.Redact(message), Of(innerException))
    {
        _text = $"{typeof(RedactedException).FullName}: {Message}";
        OriginalType = typeof(RedactedException).FullName!;
    }

    private RedactedException(Exception original)
        : base(Redactor.Redact(original.Message), Of(original.InnerException))
    {
        _text = Redactor.Redact(original.ToString());
        _stackTrace = original.StackTrace is { } stack ? Redactor.Redact(stack) : null;
        OriginalType = original.GetType().FullName ?? original.GetType().Name;
        HResult = original.HResult;
        Source = original.Source;
    }

    /// <summary>The full name of the exception's type (this type stands in for it).</summary>
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string? StackTrace => _stackTrace ?? base.StackTrace;

    /// <summary>The exception as a logging provider may see it: <paramref name="exception"/> itself when its text holds no
    /// personal data, otherwise a redacted stand-in.</summary>
    /// <param name="exception">The exception, or <see langword="null"/>.</param>
    /// <returns>The exception to log.</returns>
    public static Exception? Of(Exception? exception)
    {
        if (exception is null or RedactedException)
        {
            return exception;
        }
        var text = exception.ToString();
        return ReferenceEquals(Redactor.Redact(text), text) ? exception : new RedactedException(exception);
    }

    /// <inheritdoc />
    public override string ToString() => _text;
}
