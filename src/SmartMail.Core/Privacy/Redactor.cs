using System.Text.RegularExpressions;

namespace SmartMail.Core.Privacy;

/// <summary>
/// Removes personal data from text before it reaches logs, metrics or the audit trail's free-text fields:
/// CPR numbers and e-mail addresses.
/// </summary>
public static partial class Redactor
{
    /// <summary>The text that replaces an e-mail address.</summary>
    public const string EmailPlaceholder = "[EMAIL]";

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    /// <summary>Redacts CPR numbers and e-mail addresses in <paramref name="text"/>.</summary>
    /// <param name="text">Text that may hold personal data; <see langword="null"/> gives an empty string.</param>
    /// <returns>The text with CPR numbers replaced by <see cref="Cpr.Placeholder"/> and addresses by <see cref="EmailPlaceholder"/>.</returns>
    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }
        return Email().Replace(Cpr.Redact(text), EmailPlaceholder);
    }
}
