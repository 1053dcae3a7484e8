using System.Text.RegularExpressions;

namespace SmartMail.Core.Privacy;

/// <summary>
/// Detects Danish personal identification numbers (CPR numbers) in free text.
/// </summary>
/// <remarks>
/// A CPR number is <c>DDMMYY-SSSS</c> or <c>DDMMYYSSSS</c> where the first six digits are a valid date.
/// The modulus-11 check is deliberately not applied: numbers without it have been issued since 2007
/// and are fully valid (cpr.dk). The century comes from the seventh digit and the year, and is used to
/// decide whether 29 February exists. False positives (a phone or case number that happens to be a
/// date) are accepted: redacting too much is cheap, leaking a CPR number is not.
/// </remarks>
public static partial class Cpr
{
    /// <summary>The text that replaces a CPR number when redacting.</summary>
    public const string Placeholder = "[CPR]";

    // Not preceded/followed by a digit, so that 10-digit runs inside longer numbers do not match.
    // The separator may be a hyphen, an en dash or a single space.
    [GeneratedRegex(@"(?<!\d)(?<dd>\d{2})(?<mm>\d{2})(?<yy>\d{2})[-\u2013 ]?(?<serial>\d{4})(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    /// <summary>Finds every CPR number in <paramref name="text"/>.</summary>
    /// <param name="text">The text to search.</param>
    /// <returns>The matches, in order; empty when there are none.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<CprMatch> FindAll(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<CprMatch>? found = null;
        for (var m = Candidate().Match(text); m.Success; m = m.NextMatch())
        {
            if (IsValid(m))
            {
                (found ??= []).Add(new CprMatch(m.Index, m.Length));
            }
        }
        return found is null ? [] : found;
    }

    /// <summary>Whether <paramref name="text"/> contains at least one CPR number.</summary>
    /// <param name="text">The text to search.</param>
    /// <returns><see langword="true"/> when a CPR number is present.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static bool ContainsAny(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var m = Candidate().Match(text); m.Success; m = m.NextMatch())
        {
            if (IsValid(m))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Replaces every CPR number in <paramref name="text"/> with <see cref="Placeholder"/>.</summary>
    /// <param name="text">The text to redact.</param>
    /// <returns>The redacted text; the same instance when nothing was found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Candidate().Replace(text, static m => IsValid(m) ? Placeholder : m.Value);
    }

    /// <summary>Whether the ten digits <paramref name="digits"/> (separator allowed) form a CPR number with a valid date.</summary>
    /// <param name="digits">For example <c>010190-1234</c>.</param>
    /// <returns><see langword="true"/> when it is a CPR number.</returns>
    public static bool IsCpr(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        var m = Candidate().Match(digits);
        return m.Success && m.Index == 0 && m.Length == digits.Length && IsValid(m);
    }

    private static bool IsValid(Match m)
    {
        var day = TwoDigits(m.Groups["dd"].ValueSpan);
        var month = TwoDigits(m.Groups["mm"].ValueSpan);
        var yy = TwoDigits(m.Groups["yy"].ValueSpan);
        var seventh = m.Groups["serial"].ValueSpan[0] - '0';
        if (month is < 1 or > 12 || day < 1)
        {
            return false;
        }
        return day <= DateTime.DaysInMonth(Century(seventh, yy) + yy, month);
    }

    // cpr.dk "Opbygning af CPR-nummeret": the 7th digit together with the year gives the century.
    private static int Century(int seventh, int yy) => seventh switch
    {
        <= 3 => 1900,
        4 or 9 => yy <= 36 ? 2000 : 1900,
        _ => yy <= 57 ? 2000 : 1800,
    };

    private static int TwoDigits(ReadOnlySpan<char> s) => ((s[0] - '0') * 10) + (s[1] - '0');
}

/// <summary>Where a CPR number stands in a text.</summary>
/// <param name="Index">The zero-based start.</param>
/// <param name="Length">The length, separator included.</param>
public readonly record struct CprMatch(int Index, int Length);
