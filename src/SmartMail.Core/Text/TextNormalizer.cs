using System.Text;

namespace SmartMail.Core.Text;

/// <summary>Line-level clean-up shared by every text path.</summary>
public static class TextNormalizer
{
    /// <summary>
    /// Normalises line endings to <c>\n</c>, removes NUL and other control characters (tabs kept),
    /// trims trailing spaces and collapses more than one blank line.
    /// </summary>
    /// <param name="text">The text to tidy.</param>
    /// <returns>The tidied text, trimmed at both ends.</returns>
    public static string TidyLines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        var blankRun = 0;
        var lineStart = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    continue;
                }
                c = '\n';
            }
            if (c == '\n')
            {
                while (sb.Length > lineStart && sb[^1] is ' ' or '\t')
                {
                    sb.Length--;
                }
                blankRun = sb.Length == lineStart ? blankRun + 1 : 0;
                if (blankRun <= 1)
                {
                    sb.Append('\n');
                }
                lineStart = sb.Length;
                continue;
            }
            if (c == '\u00A0')
            {
                c = ' ';
            }
            if (char.IsControl(c) && c != '\t')
            {
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString().Trim();
    }
}
