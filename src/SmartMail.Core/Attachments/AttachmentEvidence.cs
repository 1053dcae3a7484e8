using SmartMail.Core.Mime;

namespace SmartMail.Core.Attachments;

/// <summary>
/// Which of a model's deciding terms come from attachments only (not from the subject or body), and from which files.
/// Used to say "decided by attachment terms" in a decision's reason.
/// </summary>
public static class AttachmentEvidence
{
    /// <summary>The terms among <paramref name="terms"/> found in attachment text or names and not in the subject or body.</summary>
    /// <param name="document">The extracted mail.</param>
    /// <param name="terms">Terms as a model's explanation names them, most important first.</param>
    /// <returns>The attachment terms in the order given, and the file names they occur in; both empty when none.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static (IReadOnlyList<string> Terms, IReadOnlyList<string> Files) Find(MailDocument document, IEnumerable<string> terms)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(terms);
        var ordered = terms.ToList();
        if (document.AttachmentTextStart is not { } start || start >= document.Body.Length || ordered.Count == 0)
        {
            return ([], []);
        }
        var inAttachments = AttachmentTerms.Find(document, ordered);
        if (inAttachments.Count == 0)
        {
            return ([], []);
        }
        var inMail = AttachmentTerms.Find(Section(document.Subject + "\n" + document.Body[..start]), inAttachments);
        var found = ordered.Where(t => inAttachments.Contains(t) && !inMail.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
        if (found.Count == 0)
        {
            return ([], []);
        }
        var files = new List<string>();
        // Files whose text or name holds a term: those read, then those only named (an image's name is read too).
        var candidates = document.AttachmentTexts.Select(a => (Name: a.FileName ?? a.MediaType, Text: a.FileName + "\n" + a.Text))
            .Concat(document.Attachments.Where(a => a.FileName is not null).Select(a => (Name: a.FileName!, Text: a.FileName!)));
        foreach (var (name, text) in candidates)
        {
            if (!files.Contains(name, StringComparer.Ordinal) && AttachmentTerms.Find(Section(text), found).Count > 0)
            {
                files.Add(name);
            }
        }
        return (found, files);
    }

    // A document whose whole text is an attachment section, so that AttachmentTerms tokenizes it the same way.
    private static MailDocument Section(string text) => new()
    {
        Id = string.Empty,
        Fingerprint = string.Empty,
        Body = text,
        AttachmentTextStart = 0,
    };
}
