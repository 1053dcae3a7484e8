using System.Buffers;
using System.Globalization;
using System.Text;

namespace SmartMail.Core.Privacy;

/// <summary>
/// Detects Danish personal identification numbers (CPR numbers) in free text, in the spellings people type.
/// </summary>
/// <remarks>
/// <para>
/// A CPR number is a date <c>DDMMYY</c> and a serial <c>SSSS</c>. The modulus-11 check is deliberately not applied:
/// numbers without it have been issued since 2007 and are fully valid (cpr.dk). The century comes from the seventh digit
/// and the year, and is used to decide whether 29 February exists. False positives (a case number that happens to be a
/// date followed by four digits) are accepted: redacting too much is cheap, leaking a CPR number is not.
/// </para>
/// <para>Recognised spellings, with any Unicode decimal digits (full-width <c>３１１２７５</c>, Arabic-Indic…):</para>
/// <list type="bullet">
/// <item><c>311275-4321</c>, <c>3112754321</c>, <c>311275 4321</c>, <c>311275 - 4321</c>, <c>311275_4321</c>;</item>
/// <item>the date with separators, the same one twice: <c>31.12.75-4321</c>, <c>31-12-75-4321</c>, <c>31/12/75 4321</c>,
/// <c>31 12 75 4321</c>, <c>31.12.75.4321</c>, and the serial straight after the year, <c>31.12.754321</c>; with a four-digit year only before a dash (<c>31.12.1975-4321</c>), and
/// only when the year's century agrees with the seventh digit;</item>
/// <item>any dash (Unicode category Pd, the minus sign) and any space (category Zs, tab) where a hyphen or space stands;
/// full-width dots and slashes;</item>
/// <item>invisible format characters (soft hyphen, zero-width space, word joiner…) anywhere inside the number.</item>
/// </list>
/// <para>
/// The number must not touch another digit on either side. Hand-written scanner, not a regular expression: it runs on
/// every mail's text and every log line, skips ahead to the next digit with a vectorised search, and allocates only
/// when it finds something.
/// </para>
/// </remarks>
public static class Cpr
{
    /// <summary>The text that replaces a CPR number when redacting.</summary>
    public const string Placeholder = "[CPR]";

    // Every decimal digit of the Basic Multilingual Plane (category Nd): ASCII, full-width, Arabic-Indic, Devanagari...
    private static readonly SearchValues<char> Digits = SearchValues.Create(
        [.. Enumerable.Range(0, char.MaxValue + 1).Select(c => (char)c).Where(char.IsDigit)]);

    private enum Separator
    {
        None,
        Dot,
        Dash,
        Slash,
        Space,
        Underscore,
    }

    /// <summary>Finds every CPR number in <paramref name="text"/>.</summary>
    /// <param name="text">The text to search.</param>
    /// <returns>The matches, in order; empty when there are none.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<CprMatch> FindAll(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<CprMatch>? found = null;
        for (var from = 0; Next(text, from, out var match); from = match.Index + match.Length)
        {
            (found ??= []).Add(match);
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
        return Next(text, 0, out _);
    }

    /// <summary>Replaces every CPR number in <paramref name="text"/> with <see cref="Placeholder"/>.</summary>
    /// <param name="text">The text to redact.</param>
    /// <returns>The redacted text; the same instance when nothing was found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Next(text, 0, out var match))
        {
            return text;
        }
        var result = new StringBuilder(text.Length);
        var copied = 0;
        do
        {
            result.Append(text, copied, match.Index - copied).Append(Placeholder);
            copied = match.Index + match.Length;
        }
        while (Next(text, copied, out match));
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Whether <paramref name="digits"/> is exactly one CPR number, in any recognised spelling, with a valid date.</summary>
    /// <param name="digits">For example <c>010190-1234</c> or <c>01.01.90 1234</c>.</param>
    /// <returns><see langword="true"/> when it is a CPR number.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="digits"/> is <see langword="null"/>.</exception>
    public static bool IsCpr(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        return digits.Length > 0 && IsDigit(digits[0]) && TryMatchAt(digits, 0, out var length) && length == digits.Length;
    }

    /// <summary>The ten digits <c>DDMMYYSSSS</c> (ASCII) that a CPR number in any recognised spelling stands for.</summary>
    /// <param name="spelling">For example <c>31.12.1975-4321</c> or <c>31.12.754321</c>.</param>
    /// <returns>The digits, or <see langword="null"/> when <paramref name="spelling"/> is not exactly one CPR number.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="spelling"/> is <see langword="null"/>.</exception>
    public static string? TenDigits(string spelling)
    {
        ArgumentNullException.ThrowIfNull(spelling);
        if (!IsCpr(spelling))
        {
            return null;
        }
        var digits = new StringBuilder(12);
        for (var k = 0; k < spelling.Length; k++)
        {
            if (DigitAt(spelling, k) is var d and >= 0)
            {
                digits.Append((char)('0' + d));
            }
        }
        // A four-digit year: drop the century (it follows from the seventh digit).
        return digits.Length == 12 ? digits.Remove(4, 2).ToString() : digits.ToString();
    }

    // The first CPR number at or after `from`.
    private static bool Next(ReadOnlySpan<char> text, int from, out CprMatch match)
    {
        for (var i = from; i < text.Length;)
        {
            var next = text[i..].IndexOfAny(Digits);
            if (next < 0)
            {
                break;
            }
            var start = i + next;
            if (!TouchesDigitBefore(text, start) && TryMatchAt(text, start, out var length))
            {
                match = new CprMatch(start, length);
                return true;
            }
            // A number starts at the beginning of a run of digits: go past this one.
            var rest = text[(start + 1)..].IndexOfAnyExcept(Digits);
            i = rest < 0 ? text.Length : start + 1 + rest;
        }
        match = default;
        return false;
    }

    private static bool TouchesDigitBefore(ReadOnlySpan<char> text, int start)
    {
        var k = start - 1;
        while (k >= 0 && IsIgnorable(text[k]))
        {
            k--;
        }
        return k >= 0 && IsDigit(text[k]);
    }

    // Reads DD sep MM sep YY[YY] sep SSSS at `start` (a digit) and validates the date.
    private static bool TryMatchAt(ReadOnlySpan<char> s, int start, out int length)
    {
        length = 0;
        var k = start;
        if (!Two(s, ref k, out var day))
        {
            return false;
        }
        var dateSeparator = SeparatorAt(s, ref k);
        if (dateSeparator is Separator.Underscore || !Two(s, ref k, out var month))
        {
            return false;
        }
        if (SeparatorAt(s, ref k) != dateSeparator || !Two(s, ref k, out var yy))
        {
            return false;
        }
        if (dateSeparator != Separator.None && DigitAt(s, k) >= 0)
        {
            // A four-digit year (31.12.1975-4321), else the serial straight after a two-digit year (31.12.754321).
            var afterYear = k;
            if (Two(s, ref k, out var low) && TrySerialAt(s, k, start, day, month, low, yy * 100, dateSeparator, out length))
            {
                return true;
            }
            k = afterYear;
        }
        return TrySerialAt(s, k, start, day, month, yy, null, dateSeparator, out length);
    }

    // Reads the serial (with its separator) at `k`, after the date DD MM [CC]YY, and validates the whole number.
    private static bool TrySerialAt(ReadOnlySpan<char> s, int k, int start, int day, int month, int yy, int? century,
        Separator dateSeparator, out int length)
    {
        length = 0;
        var beforeSerial = k;
        var serialSeparator = SerialSeparatorAt(s, ref k);
        var separatorFits = serialSeparator switch
        {
            // Nothing between year and serial: 3112754321, and with a separated two-digit year 31.12.754321.
            Separator.None => k == beforeSerial && century is null,
            Separator.Dash => true,
            Separator.Space or Separator.Underscore => century is null,
            _ => century is null && serialSeparator == dateSeparator,
        };
        if (!separatorFits || !Two(s, ref k, out var serialHigh) || !Two(s, ref k, out _))
        {
            return false;
        }
        var end = k;
        if (DigitAt(s, SkipIgnorable(s, k)) >= 0)
        {
            return false;
        }
        var fullCentury = Century(serialHigh / 10, yy);
        if ((century is { } written && written != fullCentury) || month is < 1 or > 12 || day < 1
            || day > DateTime.DaysInMonth(fullCentury + yy, month))
        {
            return false;
        }
        length = end - start;
        return true;
    }

    // Two digits, with invisible characters allowed before each.
    private static bool Two(ReadOnlySpan<char> s, ref int k, out int value)
    {
        value = 0;
        for (var n = 0; n < 2; n++)
        {
            var at = SkipIgnorable(s, k);
            var digit = DigitAt(s, at);
            if (digit < 0)
            {
                return false;
            }
            value = (value * 10) + digit;
            k = at + 1;
        }
        return true;
    }

    // The separator inside the date: one dot, dash, slash or space, or none. `k` moves past it.
    private static Separator SeparatorAt(ReadOnlySpan<char> s, ref int k)
    {
        var at = SkipIgnorable(s, k);
        if (at >= s.Length)
        {
            return Separator.None;
        }
        var kind = Kind(s[at]);
        if (kind != Separator.None)
        {
            k = at + 1;
        }
        return kind;
    }

    // Between date and serial: a dash with up to two spaces either side, one or two spaces, or one dot, slash or
    // underscore, or nothing. `k` moves past it.
    private static Separator SerialSeparatorAt(ReadOnlySpan<char> s, ref int k)
    {
        var at = SkipIgnorable(s, k);
        var spaces = 0;
        while (spaces < 2 && at < s.Length && Kind(s[at]) == Separator.Space)
        {
            spaces++;
            at = SkipIgnorable(s, at + 1);
        }
        if (at < s.Length && Kind(s[at]) == Separator.Dash)
        {
            at = SkipIgnorable(s, at + 1);
            for (var n = 0; n < 2 && at < s.Length && Kind(s[at]) == Separator.Space; n++)
            {
                at = SkipIgnorable(s, at + 1);
            }
            k = at;
            return Separator.Dash;
        }
        if (spaces > 0)
        {
            k = at;
            return Separator.Space;
        }
        if (at < s.Length && Kind(s[at]) is var kind and (Separator.Dot or Separator.Slash or Separator.Underscore))
        {
            k = at + 1;
            return kind;
        }
        return Separator.None;
    }

    private static Separator Kind(char c) => c switch
    {
        '.' or '\uFF0E' => Separator.Dot,
        '/' or '\uFF0F' or '\u2044' or '\u2215' => Separator.Slash,
        '_' or '\uFF3F' => Separator.Underscore,
        '-' => Separator.Dash,
        ' ' or '\t' => Separator.Space,
        '\u2212' or '\u2796' or '\u02D7' => Separator.Dash, // minus signs
        _ when c < '\u00A0' => Separator.None,
        _ => CharUnicodeInfo.GetUnicodeCategory(c) switch
        {
            UnicodeCategory.DashPunctuation => Separator.Dash,
            UnicodeCategory.SpaceSeparator => Separator.Space,
            _ => Separator.None,
        },
    };

    // Soft hyphen, zero-width space and joiners, word joiner, BOM, direction marks: category Cf.
    private static bool IsIgnorable(char c) => c >= '\u00AD' && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;

    private static int SkipIgnorable(ReadOnlySpan<char> s, int k)
    {
        while (k < s.Length && IsIgnorable(s[k]))
        {
            k++;
        }
        return k;
    }

    private static bool IsDigit(char c) => char.IsAsciiDigit(c) || (c > '\u007F' && char.IsDigit(c));

    // The digit's value, or -1 when there is no digit at `k`.
    private static int DigitAt(ReadOnlySpan<char> s, int k) =>
        k >= s.Length ? -1
        : char.IsAsciiDigit(s[k]) ? s[k] - '0'
        : s[k] > '\u007F' && char.IsDigit(s[k]) ? CharUnicodeInfo.GetDecimalDigitValue(s[k])
        : -1;

    // cpr.dk "Opbygning af CPR-nummeret": the 7th digit together with the year gives the century.
    private static int Century(int seventh, int yy) => seventh switch
    {
        <= 3 => 1900,
        4 or 9 => yy <= 36 ? 2000 : 1900,
        _ => yy <= 57 ? 2000 : 1800,
    };
}

/// <summary>Where a CPR number stands in a text.</summary>
/// <param name="Index">The zero-based start.</param>
/// <param name="Length">The length, separators included.</param>
public readonly record struct CprMatch(int Index, int Length);
