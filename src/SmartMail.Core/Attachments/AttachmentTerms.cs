using SmartMail.Core.Mime;
using SmartMail.Core.Text;

namespace SmartMail.Core.Attachments;

/// <summary>
/// For <c>classify --explain</c>: which of the terms that drove a decision come from attachments (file names or text),
/// as opposed to the subject and body. Terms are the words and word pairs a model's explanation names.
/// </summary>
public static class AttachmentTerms
{
    /// <summary>The terms among <paramref name="terms"/> that occur in the attachment section of <paramref name="document"/>'s text.</summary>
    /// <param name="document">The extracted mail.</param>
    /// <param name="terms">Terms as a model's explanation names them: a word, or two words joined by one space.</param>
    /// <returns>The terms found in attachment text or names; empty when the mail has no attachment section.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IReadOnlySet<string> Find(MailDocument document, IEnumerable<string> terms)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(terms);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (document.AttachmentTextStart is not { } start || start >= document.Body.Length)
        {
            return found;
        }
        var wanted = new HashSet<string>(terms, StringComparer.Ordinal);
        string? previous = null;
        foreach (var token in Tokenizer.Words(document.Body.AsSpan(start)))
        {
            if (token.Length < 2)
            {
                previous = null;
                continue;
            }
            var word = token.ToString();
            if (wanted.Contains(word))
            {
                found.Add(word);
            }
            if (previous is not null && wanted.Contains(previous + " " + word))
            {
                found.Add(previous + " " + word);
            }
            previous = word;
        }
        return found;
    }
}
