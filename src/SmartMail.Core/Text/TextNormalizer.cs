using System.Buffers;

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
        // The result is never longer than the input: build it in a pooled buffer and allocate only the final string.
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(text.Length, 1));
        try
        {
            var length = 0;
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
                    while (length > lineStart && buffer[length - 1] is ' ' or '\t')
                    {
                        length--;
                    }
                    blankRun = length == lineStart ? blankRun + 1 : 0;
                    if (blankRun <= 1)
                    {
                        buffer[length++] = '\n';
                    }
                    lineStart = length;
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
                buffer[length++] = c;
            }
            var tidy = buffer.AsSpan(0, length).Trim();
            return tidy.SequenceEqual(text) ? text : new string(tidy);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
