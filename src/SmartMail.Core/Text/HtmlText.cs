using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace SmartMail.Core.Text;

/// <summary>
/// Converts HTML to readable plain text with a real HTML5 parser (AngleSharp): scripts, styles and other
/// non-content elements are dropped, block elements become line breaks, entities are decoded.
/// Nothing is fetched and nothing is executed.
/// </summary>
public static class HtmlText
{
    private static readonly HashSet<string> Skipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "noscript", "template", "head", "title", "svg", "math", "iframe", "object", "embed",
    };

    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote",
        "pre", "hr", "section", "article", "header", "footer", "address", "dd", "dt", "dl", "form", "fieldset",
        "main", "nav", "aside", "figure", "figcaption", "caption", "center", "body",
    };

    private static readonly HtmlParser Parser = new(new HtmlParserOptions { IsScripting = false });

    /// <summary>Converts <paramref name="html"/> to text.</summary>
    /// <param name="html">An HTML document or fragment.</param>
    /// <returns>The visible text with block structure as line breaks.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="html"/> is <see langword="null"/>.</exception>
    public static string ToText(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        using var document = Parser.ParseDocument(html);
        var sb = new StringBuilder(html.Length / 3);
        var root = (INode?)document.Body ?? document.DocumentElement;
        if (root is null)
        {
            return string.Empty;
        }

        // Iterative walk: deeply nested HTML must not exhaust the stack.
        var stack = new Stack<(INode Node, bool Exit)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (node, exit) = stack.Pop();
            if (node is IElement element)
            {
                var isBlock = Blocks.Contains(element.LocalName);
                if (exit)
                {
                    if (isBlock)
                    {
                        NewLine(sb);
                    }
                    continue;
                }
                if (Skipped.Contains(element.LocalName))
                {
                    continue;
                }
                if (element.LocalName is "td" or "th" && sb.Length > 0 && sb[^1] is not ('\n' or ' '))
                {
                    sb.Append(' ');
                }
                if (isBlock)
                {
                    NewLine(sb);
                }
                stack.Push((node, true));
                for (var child = node.LastChild; child is not null; child = child.PreviousSibling)
                {
                    stack.Push((child, false));
                }
            }
            else if (node is IText text)
            {
                AppendCollapsed(sb, text.Data);
            }
        }
        return TextNormalizer.TidyLines(sb.ToString());
    }

    private static void NewLine(StringBuilder sb)
    {
        while (sb.Length > 0 && sb[^1] == ' ')
        {
            sb.Length--;
        }
        if (sb.Length > 0 && sb[^1] != '\n')
        {
            sb.Append('\n');
        }
    }

    private static void AppendCollapsed(StringBuilder sb, string data)
    {
        foreach (var c in data)
        {
            if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0 && sb[^1] is not (' ' or '\n'))
                {
                    sb.Append(' ');
                }
            }
            else
            {
                sb.Append(c);
            }
        }
    }
}
