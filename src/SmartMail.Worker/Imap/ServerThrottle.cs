using System.Globalization;
using System.Text.RegularExpressions;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Recognises a server that refuses work because it is throttling or overloaded (Exchange Online's
/// <c>NO Server Unavailable. 15</c>, <c>BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds</c>,
/// <c>BYE ... try again later</c>, RFC 5530's <c>[UNAVAILABLE]</c> and <c>[LIMIT]</c>) and how long to stay away: the server's
/// time hint when it gives one (bounded by <see cref="MaxWait"/>, jittered), else an exponential wait from
/// <see cref="BaseWait"/>. The number in "Server Unavailable. 15" is Exchange's error code, not seconds.
/// </summary>
public static partial class ServerThrottle
{
    /// <summary>The first wait after a throttling refusal without a time hint (then doubled per refusal).</summary>
    public static readonly TimeSpan BaseWait = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait, whatever the server suggests.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(15);

    /// <summary>Whether <paramref name="error"/> (or an exception inside it) is a throttling refusal, and its time hint.</summary>
    /// <param name="error">What the server answered, as MailKit raised it.</param>
    /// <param name="hint">The wait the server asked for, when it named one.</param>
    /// <returns><see langword="true"/> when the server is throttling.</returns>
    public static bool IsThrottled(Exception? error, out TimeSpan? hint)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (IsThrottled(e.Message, out hint))
            {
                return true;
            }
        }
        hint = null;
        return false;
    }

    /// <summary>Whether a server's response text is a throttling refusal, and its time hint.</summary>
    /// <param name="text">The response text (NO/BAD/BYE line, or an exception message holding it).</param>
    /// <param name="hint">The wait the server asked for, when it named one.</param>
    /// <returns><see langword="true"/> when the text says the server is throttling.</returns>
    public static bool IsThrottled(string? text, out TimeSpan? hint)
    {
        hint = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var match = Hint().Match(text);
        if (match.Success)
        {
            var value = double.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture);
            hint = match.Groups["unit"].Value.ToUpperInvariant() switch
            {
                var u when u.StartsWith("MS", StringComparison.Ordinal) || u.StartsWith("MILLI", StringComparison.Ordinal) => TimeSpan.FromMilliseconds(value),
                var u when u.StartsWith('M') => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromSeconds(value),
            };
            return true;
        }
        return Throttling().IsMatch(text);
    }

    /// <summary>How long to wait before the next connection after <paramref name="refusals"/> throttling refusals in a row.</summary>
    /// <param name="hint">The server's time hint, if any.</param>
    /// <param name="refusals">Refusals in a row, from 1.</param>
    /// <param name="random">A number in [0, 1) for the jitter.</param>
    /// <returns>The hint (at least 1 s, at most <see cref="MaxWait"/>) plus up to 20 % jitter; without a hint
    /// <see cref="BaseWait"/> doubled per refusal, ±20 %, at most <see cref="MaxWait"/>.</returns>
    public static TimeSpan Wait(TimeSpan? hint, int refusals, double random)
    {
        if (hint is { } asked)
        {
            var bounded = Math.Clamp(asked.TotalSeconds, 1, MaxWait.TotalSeconds);
            return TimeSpan.FromSeconds(Math.Min(MaxWait.TotalSeconds, bounded * (1 + (0.2 * random))));
        }
        var exponential = BaseWait.TotalSeconds * Math.Pow(2, Math.Clamp(refusals - 1, 0, 16));
        return TimeSpan.FromSeconds(Math.Min(MaxWait.TotalSeconds, exponential * (0.8 + (0.4 * random))));
    }

    // "Suggested Backoff Time: 299961 milliseconds", "try again in 30 seconds", "retry after 2 minutes", "Retry-After: 60".
    [GeneratedRegex(@"(?:backoff\s+time|try\s+again\s+(?:in|after)|retry\s+(?:in|after)|retry-after)\s*:?\s*(?<n>\d+(?:\.\d+)?)\s*(?<unit>milliseconds?|ms|seconds?|secs?|s\b|minutes?|mins?|m\b)?",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Hint();

    [GeneratedRegex(@"\[(?:UNAVAILABLE|LIMIT|INUSE|THROTTLED)\]|server\s+unavailable|throttl|try\s+again\s+later|too\s+many\s+(?:connections|simultaneous|concurrent|requests)|maximum\s+number\s+of\s+connections|user\s+is\s+authenticated\s+but\s+not\s+connected",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Throttling();
}
