namespace SmartMail.Worker.Imap;

/// <summary>
/// A mailbox's settings are wrong (a missing password file, plaintext without opt-in, an unreadable CA file). Not transient:
/// the mailbox stops with one line naming the setting, and is not retried.
/// </summary>
public sealed class MailboxConfigurationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public MailboxConfigurationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public MailboxConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public MailboxConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a setting of a mailbox.</summary>
    /// <param name="mailbox">The mailbox's name.</param>
    /// <param name="setting">The setting's key under the mailbox (<c>PasswordFile</c>).</param>
    /// <param name="problem">What is wrong, and the fix.</param>
    /// <param name="innerException">The cause, if any.</param>
    public MailboxConfigurationException(string mailbox, string setting, string problem, Exception? innerException = null)
        : base($"Mailbox '{mailbox}': setting {setting}: {problem}", innerException)
    {
        Mailbox = mailbox;
        Setting = setting;
    }

    /// <summary>The mailbox's name.</summary>
    public string? Mailbox { get; }

    /// <summary>The setting at fault, e.g. <c>PasswordFile</c> (under <c>SmartMail:Mailboxes:N</c>).</summary>
    public string? Setting { get; }
}
