using System.Collections.Concurrent;
using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Telemetry;

/// <summary>
/// Makes a configuration-derived value (mailbox name, destination, label, model version) safe as a metric or span tag:
/// CPR numbers and e-mail addresses redacted, at most <see cref="MaxLength"/> characters. Results are cached, since tag
/// values repeat; past <see cref="MaxCached"/> distinct values they are still cleaned, only no longer cached.
/// </summary>
internal static class TagValues
{
    /// <summary>The longest tag value.</summary>
    public const int MaxLength = 100;

    /// <summary>How many distinct values are cached.</summary>
    public const int MaxCached = 1000;

    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>The value, safe to export.</summary>
    /// <param name="value">A low-cardinality value from the configuration or the model.</param>
    /// <returns>The cleaned value; <c>none</c> for <see langword="null"/> or empty.</returns>
    public static string Clean(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "none";
        }
        if (Cache.TryGetValue(value, out var cleaned))
        {
            return cleaned;
        }
        cleaned = Redactor.Redact(value);
        if (cleaned.Length > MaxLength)
        {
            cleaned = cleaned[..MaxLength];
        }
        if (Cache.Count < MaxCached)
        {
            Cache.TryAdd(value, cleaned);
        }
        return cleaned;
    }
}
