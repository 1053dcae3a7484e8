using System.Collections;
using System.Globalization;
using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Logging;

/// <summary>
/// A log event's or scope's state after redaction: the structured values (the message template included) and the
/// formatted message. Values without personal data keep their type; a value whose text holds personal data becomes
/// its redacted text.
/// </summary>
internal sealed class RedactedLogState : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _values;

    private RedactedLogState(KeyValuePair<string, object?>[] values, string message)
    {
        _values = values;
        Message = message;
    }

    /// <summary>The formatted message, redacted.</summary>
    public string Message { get; }

    public int Count => _values.Length;

    public KeyValuePair<string, object?> this[int index] => _values[index];

    /// <summary>The redacted state of a log event.</summary>
    public static RedactedLogState Of<TState>(TState state, string? message) =>
        new(state is IEnumerable<KeyValuePair<string, object?>> pairs ? Values(pairs) : [], Redactor.Redact(message));

    /// <summary>The redacted state of a scope: a string stays a string, structured values stay structured.</summary>
    public static object OfScope<TState>(TState state)
        where TState : notnull => state switch
        {
            string text => Redactor.Redact(text),
            IEnumerable<KeyValuePair<string, object?>> pairs => new RedactedLogState(Values(pairs), Redactor.Redact(state.ToString())),
            _ => Value(state)!,
        };

    /// <summary>A value as it may be logged.</summary>
    public static object? Value(object? value)
    {
        switch (value)
        {
            case null or bool or byte or sbyte or short or ushort or char or Enum:
                return value; // too short to hold a CPR number; an enum's name is code
            case string text:
                return Redactor.Redact(text);
            case IEnumerable items and not IFormattable:
                {
                    // Formatted as LoggerMessage does: "a, b, c".
                    var texts = items.Cast<object?>().Select(i => Convert.ToString(i, CultureInfo.InvariantCulture) ?? "(null)").ToList();
                    var redacted = texts.Select(t => Redactor.Redact(t)).ToList();
                    return texts.SequenceEqual(redacted, ReferenceEqualityComparer.Instance) ? value : string.Join(", ", redacted);
                }
            default:
                {
                    var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                    var redacted = Redactor.Redact(text);
                    return ReferenceEquals(text, redacted) ? value : redacted;
                }
        }
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Message;

    private static KeyValuePair<string, object?>[] Values(IEnumerable<KeyValuePair<string, object?>> pairs) =>
        [.. pairs.Select(p => new KeyValuePair<string, object?>(p.Key, Value(p.Value)))];
}
