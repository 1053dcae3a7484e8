using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The mailbox's department folders as a sink: a claimed mail is moved (UID MOVE, or COPY + \Deleted + UID EXPUNGE where
/// MOVE is missing) to its destination's folder, one MOVE per destination for a batch. The claim marker makes the delivery
/// idempotent and lets crash recovery find the mail in its folder (<see cref="IsDeliveredAsync"/>).
/// </summary>
internal sealed class ImapFolderSink(ImapSession session, ImapClaims claims, ImapFolderCache folders) : IMailSink
{
    /// <summary>Claims the mail (unless this session holds its claim already) and moves it to the destination folder.</summary>
    /// <exception cref="MailGoneException">The mail left the folder before it was delivered.</exception>
    /// <exception cref="MailClaimedException">Another instance claimed the mail.</exception>
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var uid = ImapSession.Uid(delivery.Key);
        var destination = await folders.GetOrCreateAsync(delivery.Destination, cancellationToken).ConfigureAwait(false);
        var marker = claims.ClaimOf(uid.Id) ?? claims.Marker(delivery.DecisionId);
        if (!session.IsCurrent(delivery.Key) || !await session.ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
        {
            // Gone from the watched folder: delivered before a crash (the marker proves it) or taken by someone else.
            if (await folders.HasKeywordAsync(destination, marker, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {session.Options.Folder} before it was delivered.");
        }
        if (claims.ClaimOf(uid.Id) is null && (await claims.ClaimAsync([(uid, marker)], cancellationToken).ConfigureAwait(false))[uid.Id] is { } failed)
        {
            throw failed;
        }
        marker = claims.ClaimOf(uid.Id)!; // claimed just above
        var moved = await MoveAsync([uid], destination, cancellationToken).ConfigureAwait(false);
        // With UIDPLUS the server names the new UID. Without it (or when another client expunged the mail between our
        // checks) the marker in the destination is the proof.
        if (moved.Source.Count == 0 && !await folders.HasKeywordAsync(destination, marker, cancellationToken).ConfigureAwait(false))
        {
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {session.Options.Folder} before it was delivered.");
        }
        session.MovedThisSession.Add(uid.Id);
    }

    /// <summary>
    /// Delivers a batch with one UID MOVE per destination: the mails are claimed (a no-op for mails this session claimed
    /// already), then the claimed ones bound for one destination move together. A mail the server did not move is checked in
    /// the destination by marker and fingerprint; if it is not there it was taken by another client.
    /// </summary>
    /// <returns>Per delivery, <see langword="null"/> when delivered, else the failure.</returns>
    public async Task<IReadOnlyList<Exception?>> DeliverBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store,
        CancellationToken cancellationToken)
    {
        var results = (await claims.ClaimBatchAsync(deliveries, store, cancellationToken).ConfigureAwait(false)).ToArray();
        foreach (var group in deliveries.Select((d, i) => (Delivery: d, Index: i)).Where(x => results[x.Index] is null)
            .GroupBy(x => x.Delivery.Destination, StringComparer.Ordinal))
        {
            var destination = await folders.GetOrCreateAsync(group.Key, cancellationToken).ConfigureAwait(false);
            var uids = group.Select(x => ImapSession.Uid(x.Delivery.Key)).ToList();
            var map = await MoveAsync(uids, destination, cancellationToken).ConfigureAwait(false);
            var moved = map.Source.Select(u => u.Id).ToHashSet();
            // No COPYUID (a server without UIDPLUS) or mail another client expunged meanwhile: look for it, by its marker.
            foreach (var unconfirmed in group.Where(x => !moved.Contains(ImapSession.Uid(x.Delivery.Key).Id))
                .GroupBy(x => claims.ClaimOf(ImapSession.Uid(x.Delivery.Key).Id)!)) // claimed: results[x] is null
            {
                var present = await folders.FingerprintsWithKeywordAsync(destination, unconfirmed.Key, cancellationToken).ConfigureAwait(false);
                foreach (var x in unconfirmed.Where(x => !present.Contains(Core.Mime.MailExtractor.Fingerprint(x.Delivery.Raw))))
                {
                    results[x.Index] = new MailGoneException($"Mail {x.Delivery.Key.Uid} left {session.Options.Folder} before it was delivered.");
                }
            }
            session.MovedThisSession.UnionWith(uids.Select(u => u.Id));
        }
        return results;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Delivered when the destination folder holds a message with the decision's marker (the recorded one, else this instance's
    /// marker of the decision id) and the mail's fingerprint. A folder that does not exist holds nothing: it is not created.
    /// </remarks>
    public async Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        if (await folders.FindAsync(check.Destination, cancellationToken).ConfigureAwait(false) is not { } folder)
        {
            return false;
        }
        var marker = check.Marker ?? claims.Marker(check.DecisionId);
        return (await folders.FingerprintsWithKeywordAsync(folder, marker, cancellationToken).ConfigureAwait(false)).Contains(check.Fingerprint);
    }

    /// <inheritdoc />
    public string PlaceOf(string destination) => folders.FolderName(destination);

    // UID MOVE. When another session expunged some of the mails first, Dovecot answers NO ("Some of the requested messages
    // no longer exist") after moving the rest, or none: MailKit then throws without the COPYUID. Move what is still here;
    // the caller looks for the others in the destination by marker.
    private async Task<UniqueIdMap> MoveAsync(IList<UniqueId> uids, IMailFolder destination, CancellationToken cancellationToken)
    {
        var inbox = session.Inbox;
        try
        {
            return await inbox.MoveToAsync(uids, destination, cancellationToken).ConfigureAwait(false);
        }
        catch (ImapCommandException ex) when (ex.Response == ImapCommandResponse.No)
        {
            await session.Client.NoOpAsync(cancellationToken).ConfigureAwait(false); // take in the other session's expunges
            var still = await inbox.SearchAsync(SearchQuery.Uids(uids), cancellationToken).ConfigureAwait(false);
            return still.Count == 0 ? UniqueIdMap.Empty : await inbox.MoveToAsync(still, destination, cancellationToken).ConfigureAwait(false);
        }
    }
}
