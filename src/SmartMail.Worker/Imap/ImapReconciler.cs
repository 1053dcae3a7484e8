using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Resolves ledger rows that a crash left unfinished and whose mail is no longer in the watched folder, by what the ledger
/// and the destination's own sink say (never by assuming every destination is an IMAP folder):
/// <list type="bullet">
/// <item>delivered (the sink confirmed it), then gone from the folder: the acknowledgement went through before the crash
/// (<see cref="MailTransition.Recover"/>);</item>
/// <item>decided, and the sink it routes to shows the decision delivered (the IMAP folder holds the mail with its marker and
/// fingerprint; the journal holds the decision's files): delivered, then acknowledged (<see cref="MailTransition.Recover"/>);</item>
/// <item>otherwise (only seen; or the sink shows nothing or cannot tell, as SMTP and webhooks cannot): the mail left the
/// folder undelivered, taken by another client or renumbered by a UIDVALIDITY change (<see cref="MailTransition.Leave"/>).
/// It is not a delivery: should the mail come back, it is routed then, under the same decision id (idempotent at every sink).</item>
/// </list>
/// Mail still in the folder (including mail this instance claimed before the crash, and, in a ledger instances share, mail
/// another instance claimed) is left for the processor, which resumes it from its last recorded step.
/// </summary>
public static class ImapReconciler
{
    /// <summary>Reconciles the unfinished rows of <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The connected mailbox.</param>
    /// <param name="store">The ledger.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <param name="sink">The sink the mailbox's mail is delivered through (its routing table); the mailbox's own folders when <see langword="null"/>.</param>
    /// <returns>How many rows were found delivered and how many gone.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public static async Task<(int Delivered, int Gone)> ReconcileAsync(ImapMailbox mailbox, IStateStore store, TimeProvider time,
        CancellationToken cancellationToken, IMailSink? sink = null)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        sink ??= mailbox;
        var present = (await mailbox.ListAsync(cancellationToken).ConfigureAwait(false)).Select(p => p.Key).ToHashSet();
        if (store.SharedByInstances)
        {
            // In a ledger the fleet shares, the row of a mail another instance claimed is that claim's record, and the mail is
            // still here: it stays unfinished for the lease holder that adopts the claim. (Marked gone, it would be reopened
            // and decided a second time when it is listed again; the fleet test found it so, moved with two markers.)
            present.UnionWith(mailbox.ClaimedByOthers);
        }
        int delivered = 0, gone = 0;
        foreach (var record in store.ListUnfinished(mailbox.Mailbox))
        {
            if (present.Contains(record.Key))
            {
                continue;
            }
            var found = record.State == MailState.Delivered
                || (record.State == MailState.Decided && record.Destination is not null
                    && await sink.IsDeliveredAsync(new DeliveryCheck(record.DecisionId, record.Destination, record.Fingerprint, record.Marker),
                        cancellationToken).ConfigureAwait(false) == true);
            var place = record.Destination is null ? string.Empty : sink.PlaceOf(record.Destination);
            if (found)
            {
                store.Ledger.Recover(record.Key, Audit(record, mailbox.Mailbox, time, "recovery", place,
                    record.State == MailState.Delivered
                        ? "delivered before a restart, and no longer in the folder (acknowledged)"
                        : "found delivered in its destination after a restart",
                    "delivered"));
                delivered++;
            }
            else
            {
                store.Ledger.Leave(record.Key, Audit(record, mailbox.Mailbox, time, "gone", place,
                    "left the folder before it was delivered (another client took it, or UIDVALIDITY changed); routed if it comes back",
                    "gone"));
                gone++;
            }
        }
        return (delivered, gone);
    }

    private static AuditEntry Audit(MailRecord record, string mailbox, TimeProvider time, string source, string place, string reason,
        string outcome) => new()
        {
            Time = time.GetUtcNow(),
            DecisionId = record.DecisionId,
            Fingerprint = record.Fingerprint,
            Mailbox = mailbox,
            Source = source,
            Reason = reason,
            Destination = place,
            Outcome = outcome,
        };
}
