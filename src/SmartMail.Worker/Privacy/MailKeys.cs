using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Privacy;

/// <summary>What a mail can be found by, as keyed hashes: the CPR numbers in it, its addresses and its thread.</summary>
public static class MailKeys
{
    /// <summary>A CPR number in the subject, text, attachments, attachment names or Message-ID.</summary>
    public const string CprKind = "cpr";

    /// <summary>A sender or recipient address.</summary>
    public const string AddressKind = "address";

    /// <summary>The mail's own Message-ID.</summary>
    public const string MessageKind = "message";

    /// <summary>A Message-ID the mail answers (In-Reply-To, References): its thread.</summary>
    public const string ParentKind = "parent";

    /// <summary>The keyed hashes of <paramref name="document"/>.</summary>
    /// <param name="hash">The installation's hasher.</param>
    /// <param name="document">The extracted mail.</param>
    /// <returns>(kind, hash) pairs, each once.</returns>
    public static IReadOnlyList<PersonKey> Of(KeyedHash hash, MailDocument document)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(document);
        var keys = new HashSet<PersonKey>();
        IEnumerable<string> texts = [document.Subject, document.Body, document.Id, .. document.AttachmentTexts.Select(a => a.Text ?? ""),
            .. document.Attachments.Select(a => a.FileName ?? "")];
        foreach (var text in texts)
        {
            foreach (var cpr in hash.OfCprNumbersIn(text))
            {
                keys.Add(new PersonKey(CprKind, cpr));
            }
        }
        foreach (var address in document.From.Concat(document.Recipients))
        {
            keys.Add(new PersonKey(AddressKind, hash.OfAddress(address)));
        }
        if (!document.HasSyntheticId)
        {
            keys.Add(new PersonKey(MessageKind, hash.OfMessageId(document.Id)));
        }
        foreach (var parent in document.References.Append(document.InReplyTo).OfType<string>().Where(p => p.Length > 0))
        {
            keys.Add(new PersonKey(ParentKind, hash.OfMessageId(parent)));
        }
        return [.. keys];
    }
}

/// <summary>One keyed hash a mail can be found by.</summary>
/// <param name="Kind">A <see cref="MailKeys"/> kind.</param>
/// <param name="Hash">The keyed hash.</param>
public sealed record PersonKey(string Kind, string Hash);
