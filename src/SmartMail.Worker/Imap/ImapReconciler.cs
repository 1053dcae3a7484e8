using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Resolves ledger rows that a crash left unfinished and whose mail is no longer in the watched folder: when the
/// destination folder holds a message with the mail's marker (the claim recorded in the ledger) and fingerprint it was
/// delivered (MOVE succeeded, the ledger write did not); otherwise another client or another instance took it, or the
/// folder's UIDVALIDITY changed. Either way it is recorded, not retried. Mail still in the folder (including mail this
/// instance claimed before the crash) is left for the processor, which resumes it from its last recorded step.
/// </summary>
public static class ImapReconciler
{
    /// <summary>Reconciles the unfinished rows of <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The connected mailbox.</param>
    /// <param name="store">The ledger.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many rows were found delivered and how many gone.</returns>
    public static async Task<(int Delivered, int Gone)> ReconcileAsync(ImapMailbox mailbox, SqliteStateStore store, TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var present = (await mailbox.ListAsync(cancellationToken).ConfigureAwait(false)).Select(p => p.Key).ToHashSet();
        int delivered = 0, gone = 0;
        foreach (var record in store.ListUnfinished(mailbox.Mailbox))
        {
            if (present.Contains(record.Key))
            {
                continue;
            }
            var found = record.State >= MailState.Decided && record.Destination is not null
                && await mailbox.IsDeliveredAsync(record.Destination, record.Marker ?? mailbox.Marker(record.DecisionId), record.Fingerprint,
                    cancellationToken).ConfigureAwait(false);
            store.Advance(record.Key, MailState.Acknowledged, time.GetUtcNow());
            store.AppendAudit(new AuditEntry
            {
                Time = time.GetUtcNow(),
                DecisionId = record.DecisionId,
                Fingerprint = record.Fingerprint,
                Mailbox = mailbox.Mailbox,
                Source = found ? "recovery" : "gone",
                Reason = found
                    ? "found delivered in its destination after a restart"
                    : "left the folder before it was delivered (another client took it, or UIDVALIDITY changed)",
                Destination = record.Destination ?? string.Empty,
                Outcome = found ? "delivered" : "gone",
            });
            if (found)
            {
                delivered++;
            }
            else
            {
                gone++;
            }
        }
        return (delivered, gone);
    }
}
