using System.Buffers;
using System.Text;

namespace SmartMail.Core.Privacy;

/// <summary>
/// Removes personal data from text before it reaches logs, metrics, the audit trail's free-text fields or the learning
/// loop's stored examples: CPR numbers (every spelling <see cref="Cpr"/> knows) and e-mail addresses. The one redactor
/// for all of them.
/// </summary>
public static class Redactor
{
    /// <summary>The text that replaces an e-mail address.</summary>
    public const string EmailPlaceholder = "[EMAIL]";

    // local@domain.tld as [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}, found from each '@' outwards: a regular
    // expression tries every letter of the text as a start, ten times slower on a mail body.
    private static readonly SearchValues<char> LocalChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-");
    private static readonly SearchValues<char> DomainChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-");

    /// <summary>Redacts CPR numbers and e-mail addresses in <paramref name="text"/>.</summary>
    /// <param name="text">Text that may hold personal data; <see langword="null"/> gives an empty string.</param>
    /// <returns>
    /// The text with CPR numbers replaced by <see cref="Cpr.Placeholder"/> and addresses by <see cref="EmailPlaceholder"/>;
    /// the same instance when there is nothing to redact.
    /// </returns>
    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }
        return RedactEmails(Cpr.Redact(text));
    }

    /// <summary>
    /// An e-mail address as lists show it without keeping it: the first letter of the local part and the domain,
    /// <c>b…@example.dk</c>. Anything that is not one address is redacted whole.
    /// </summary>
    /// <param name="address">The address; <see langword="null"/> or empty gives an empty string.</param>
    /// <returns>The masked address.</returns>
    public static string MaskAddress(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return string.Empty;
        }
        var at = address.LastIndexOf('@');
        if (at <= 0 || FindAddress(address, at, 0) is not (0, var end) || end != address.Length)
        {
            return Redact(address);
        }
        return string.Concat(address.AsSpan(0, 1), "\u2026", Cpr.Redact(address[at..]));
    }

    private static string RedactEmails(string text)
    {
        StringBuilder? result = null;
        var copied = 0;
        for (var at = text.IndexOf('@', StringComparison.Ordinal); at >= 0; at = text.IndexOf('@', at + 1))
        {
            if (FindAddress(text, at, copied) is not var (start, end))
            {
                continue;
            }
            (result ??= new StringBuilder(text.Length)).Append(text, copied, start - copied).Append(EmailPlaceholder);
            copied = end;
            at = end - 1;
        }
        return result is null ? text : result.Append(text, copied, text.Length - copied).ToString();
    }

    // The address around the '@' at `at`, not reaching back before `floor`: [start, end).
    private static (int Start, int End)? FindAddress(string text, int at, int floor)
    {
        var before = text.AsSpan(floor, at - floor).LastIndexOfAnyExcept(LocalChars);
        var start = before < 0 ? floor : floor + before + 1;
        if (start == at)
        {
            return null;
        }
        var after = text.AsSpan(at + 1).IndexOfAnyExcept(DomainChars);
        var domainEnd = after < 0 ? text.Length : at + 1 + after;
        // Backtrack from the right to the last dot with at least two letters after it and something before it.
        for (var dot = text.LastIndexOf('.', domainEnd - 1, domainEnd - at - 1); dot > at + 1; dot = text.LastIndexOf('.', dot - 1, dot - at - 1))
        {
            var letters = 0;
            while (dot + 1 + letters < domainEnd && char.IsAsciiLetter(text[dot + 1 + letters]))
            {
                letters++;
            }
            if (letters >= 2)
            {
                return (start, dot + 1 + letters);
            }
        }
        return null;
    }
}
