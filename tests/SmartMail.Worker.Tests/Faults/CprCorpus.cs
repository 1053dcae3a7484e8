using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// CPR numbers in the spellings people type, and a leak check that does not use the detector under test: it reads every
/// run of digits in a text, looking through the separators a CPR number may be written with, and looks for the corpus's
/// own numbers in it.
/// </summary>
internal static partial class CprCorpus
{
    /// <summary>Each spelling (all valid dates, each a different number).</summary>
    public static readonly IReadOnlyList<string> Spellings =
    [
        "31.12.75-4321",
        "30.11.80 - 1234",
        "29.10.81 2345",
        "28.09.82.3456",
        "271083 4567",
        "260784\u00A05678", // no-break space
        "250685\u20096789", // thin space
        "240586\u202F7890", // narrow no-break space
        "230487\u20078901", // figure space
        "220388\u30009012", // ideographic space
        "210289\u20110123", // non-breaking hyphen
        "200190\u20101234", // hyphen
        "191291\u20122345", // figure dash
        "181192\u20143456", // em dash
        "171093\u22124567", // minus sign
        "160994\uFE635678", // small hyphen-minus
        "150895\uFF0D6789", // full-width hyphen-minus
        "\uFF11\uFF14\uFF10\uFF17\uFF19\uFF16\uFF0D\uFF17\uFF18\uFF19\uFF10", // full-width digits and hyphen
        "\uFF11\uFF13\uFF10\uFF16\uFF19\uFF17\uFF18\uFF19\uFF10\uFF11", // full-width, no separator
        "12-05-98-9012",
        "11/04/99-0123",
        "10 03 00 4234",
        "09 02 01-4345",
        "080102 - 4456",
        "071203 -4567",
        "061104_4678",
        "05.10.1955-1789", // four-digit year
        "04-09-2006-4890",
        "0308\u00AD07-4901", // soft hyphen inside
        "020708\u200B-4012", // zero-width space
        "01.06.09\u2013\u200A4123", // en dash, hair space
        "31\u00A005\u00A010\u00A04234",
        "30.04.11\u00A04345",
        "\uFF12\uFF19.\uFF10\uFF13.\uFF11\uFF12-\uFF14\uFF14\uFF15\uFF16", // full-width digits, ASCII dots
        "28\uFF0E02\uFF0E13\uFF0D4567", // full-width dots and hyphen
        "260215\u20134789", // en dash
        "2503164890",
        "\u0662\u0664\u0660\u0664\u0661\u0667-\u0664\u0669\u0660\u0661", // Arabic-Indic digits
        "230518-5012",
        "010190-1234",
    ];

    /// <summary>The digits of every spelling (a four-digit year as written), and of the numbers in <c>Mails.CprHeavy</c>.</summary>
    public static readonly IReadOnlySet<string> Numbers =
        new HashSet<string>(Spellings.Select(s => DigitRuns(s).Single()).Concat(["0101901234", "3112994321", "0101151235", "2902004234"]));

    /// <summary>Whether <paramref name="text"/> (JSON escapes decoded) holds one of <see cref="Numbers"/> in any spelling.</summary>
    public static bool Leaks(string text) => DigitRuns(Unescape().Replace(text, m =>
        ((char)int.Parse(m.Groups[1].ValueSpan, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToString()))
        .Any(run => Numbers.Any(n => run.Contains(n, StringComparison.Ordinal)));

    // Digits (any script, as ASCII) with the separators a CPR number can be written with left out; anything else ends a run.
    private static IEnumerable<string> DigitRuns(string text)
    {
        var run = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsDigit(c))
            {
                run.Append((char)('0' + CharUnicodeInfo.GetDecimalDigitValue(c)));
            }
            else if (!IsSeparator(c) && run.Length > 0)
            {
                yield return run.ToString();
                run.Clear();
            }
        }
        if (run.Length > 0)
        {
            yield return run.ToString();
        }
    }

    private static bool IsSeparator(char c) =>
        c is '.' or '/' or '_' or '-' or '\t' or '\u2212' or '\uFF0E' or '\uFF0F' or '\uFF3F'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.DashPunctuation or UnicodeCategory.SpaceSeparator or UnicodeCategory.Format;

    [GeneratedRegex(@"\\u([0-9A-Fa-f]{4})")]
    private static partial Regex Unescape();
}
