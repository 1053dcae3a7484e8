using System.Text;
using System.Text.RegularExpressions;

namespace SmartMail.Core.Text;

/// <summary>
/// Removes quoted earlier mail from a reply, so that the citizen's new words drive routing:
/// lines starting with <c>&gt;</c>, and everything from an attribution line ("Den 3. maj 2026 skrev ...:",
/// "On Mon, ... wrote:") or an Outlook separator ("-----Oprindelig meddelelse-----", "-----Original Message-----",
/// "Fra: ... Sendt: ...") on.
/// </summary>
public static partial class QuoteTrimmer
{
    // "On <date>, Bob <b@x> wrote:" puts the verb last; Danish and German clients put the sender after it
    // ("Den 3. maj 2026 kl. 10.00 skrev Hans <h@x.dk>:"). An attribution may also wrap onto a second line.
    [GeneratedRegex(@"^\s*(Den|On|Am|Le|El|Il|Op|På)\b.{0,200}?\b(skrev|wrote|schrieb|a écrit|escribió|scrisse|schreef|kirjoitti)\b[^:]{0,200}:\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Attribution();

    [GeneratedRegex(@"^\s*-{2,}\s*(Oprindelig meddelelse|Original Message|Videresendt meddelelse|Forwarded message|Ursprüngliche Nachricht)\s*-{2,}\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Separator();

    [GeneratedRegex(@"^\s*(Fra|From|Von)\s*:\s*\S", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OutlookFrom();

    [GeneratedRegex(@"^\s*(Sendt|Sent|Gesendet|Dato|Date)\s*:\s*\S", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OutlookSent();

    /// <summary>Trims quoted replies from <paramref name="body"/>.</summary>
    /// <param name="body">The body text with <c>\n</c> line endings.</param>
    /// <returns>The text before the quote; the whole body if trimming would leave nothing.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is <see langword="null"/>.</exception>
    public static string Trim(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var lines = body.Split('\n');
        var sb = new StringBuilder(body.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var twoLines = i + 1 < lines.Length ? line + " " + lines[i + 1] : line;
            if (Separator().IsMatch(line)
                || Attribution().IsMatch(line)
                || (i + 1 < lines.Length && Attribution().IsMatch(twoLines) && !Attribution().IsMatch(lines[i + 1]))
                || (OutlookFrom().IsMatch(line) && NextLinesMatch(lines, i + 1, OutlookSent())))
            {
                break;
            }
            if (line.TrimStart().StartsWith('>'))
            {
                continue;
            }
            sb.Append(line).Append('\n');
        }
        var trimmed = TextNormalizer.TidyLines(sb.ToString());
        return trimmed.Length == 0 ? body : trimmed;
    }

    private static bool NextLinesMatch(string[] lines, int start, Regex pattern)
    {
        for (var j = start; j < Math.Min(lines.Length, start + 3); j++)
        {
            if (pattern.IsMatch(lines[j]))
            {
                return true;
            }
        }
        return false;
    }
}
