using SmartMail.Worker.Sinks;
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

    /// <summary>The most a batch fetches, in megabytes, by the listed sizes (a larger mail is fetched alone).</summary>
    int BatchMegabytes => 64;

    /// <summary>Reads several mails' raw bytes (a source that can: in one request; else one by one).</summary>
    /// <param name="keys">The mails.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Bytes per key; a key missing from the result is gone.</returns>
    async Task<Dictionary<MailKey, byte[]>> FetchManyAsync(IReadOnlyList<MailKey> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var bodies = new Dictionary<MailKey, byte[]>(keys.Count);
        foreach (var key in keys)
        {
            if (await FetchAsync(key, cancellationToken).ConfigureAwait(false) is { } raw)
            {
                bodies[key] = raw;
            }
        }
        return bodies;
    }

    /// <summary>
    /// Claims a batch of decided mails for this instance before any is delivered, where other instances could take them
    /// too (IMAP: a marker keyword, recorded in the ledger first). A source only this instance reads claims nothing.
    /// </summary>
    /// <param name="deliveries">The mails.</param>
    /// <param name="store">The ledger that records the claims.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Per delivery, <see langword="null"/> when this instance may deliver it, else why not.</returns>
    Task<IReadOnlyList<Exception?>> ClaimBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Exception?>>(new Exception?[deliveries.Count]);
}

/// <summary>A mail waiting in a source.</summary>
/// <param name="Key">Its key.</param>
/// <param name="Size">Its size in bytes.</param>
public sealed record PendingMail(MailKey Key, long Size);
