using SmartMail.Worker.State;

namespace SmartMail.Worker.Sources;

/// <summary>A place mail arrives: an IMAP folder or a drop folder.</summary>
public interface IMailSource
{
    /// <summary>The configured mailbox name (used in keys, logs and the audit trail).</summary>
    string Mailbox { get; }

    /// <summary>The mails waiting, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>Keys and sizes.</returns>
    Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Reads a mail's raw bytes.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes, or <see langword="null"/> when the mail is gone (another client took it).</returns>
    Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken);

    /// <summary>Removes a mail from the source after it was delivered durably.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken);
}

/// <summary>A mail waiting in a source.</summary>
/// <param name="Key">Its key.</param>
/// <param name="Size">Its size in bytes.</param>
public sealed record PendingMail(MailKey Key, long Size);
