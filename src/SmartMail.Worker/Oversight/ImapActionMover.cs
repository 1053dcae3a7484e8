using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Oversight;

/// <summary>
/// Moves one mail between two folders of an IMAP mailbox for the web app, on a connection of its own. The mail is found by
/// its claim marker (set before the worker moved it, and kept by the server with the message). Before the UID MOVE the
/// mail is claimed for this move: a keyword naming this instance (<c>$SmartMailWeb_INSTANCE</c>) stored with CONDSTORE's
/// UNCHANGEDSINCE, so of two instances moving the same mail at once only one claims it; the other waits for the mail to
/// appear in the destination. (A UID MOVE alone is not enough: two sessions moving the same message at the same moment
/// both got a copy in the destination from Dovecot; <c>ImapActionsTests.Move_TwoInstancesAtOnce_TheMailLandsOnce</c>.)
/// The claim narrows the race; it does not close it on every server: when two claims both land, both instances move and the
/// destination briefly holds two copies, and each mover then keeps the copy with the lowest UID (see KeepOneAsync).
/// A server without MOVE or CONDSTORE is refused: the move could not be made exactly once there.
/// </summary>
internal sealed class ImapActionMover(ImapMailboxOptions options, string instanceId)
{
    /// <summary>The prefix of the keyword that claims a mail for a web action.</summary>
    public const string ClaimPrefix = "$SmartMailWeb_";

    /// <summary>How long an instance waits for another instance's move of the same mail to show.</summary>
    public TimeSpan WaitForOther { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Moves the mail carrying <paramref name="marker"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="decisionId">The decision id (for the messages).</param>
    /// <param name="marker">The mail's claim marker keyword.</param>
    /// <param name="from">The destination the mail was delivered to.</param>
    /// <param name="to">The destination it goes to.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ActionRefusedException">The mail is in neither folder, or the server has no MOVE or CONDSTORE.</exception>
    /// <exception cref="IOException">Another instance claimed the mail and has not moved it yet (retried later).</exception>
    public async Task MoveAsync(string decisionId, string marker, string from, string to, CancellationToken cancellationToken)
    {
        using var client = ImapConnection.NewClient(options);
        await ImapConnection.ConnectAsync(client, options, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!client.Capabilities.HasFlag(ImapCapabilities.Move))
            {
                throw new ActionRefusedException($"Mailbox '{options.Name}' has no IMAP MOVE: the web app cannot move its mail exactly once; move it in the mailbox.");
            }
            var separator = client.PersonalNamespaces.Count > 0 ? client.PersonalNamespaces[0].DirectorySeparator : '.';
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            var source = await FindAsync(root, Name(from, separator), cancellationToken).ConfigureAwait(false);
            var target = await FindAsync(root, Name(to, separator), cancellationToken).ConfigureAwait(false)
                ?? await root.CreateAsync(Name(to, separator), true, cancellationToken).ConfigureAwait(false)
                ?? throw new IOException($"Mailbox '{options.Name}': the folder for '{to}' could not be created.");
            var otherIsMoving = false;
            if (source is not null)
            {
                await source.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
                var uids = await source.SearchAsync(SearchQuery.HasKeyword(marker), cancellationToken).ConfigureAwait(false);
                if (uids.Count > 0)
                {
                    if (!source.Supports(FolderFeature.ModSequences))
                    {
                        throw new ActionRefusedException($"Mailbox '{options.Name}' has no CONDSTORE: the web app cannot move its mail exactly once; move it in the mailbox.");
                    }
                    otherIsMoving = !await ClaimAsync(source, uids, cancellationToken).ConfigureAwait(false);
                    if (!otherIsMoving)
                    {
                        try
                        {
                            await source.MoveToAsync(uids, target, cancellationToken).ConfigureAwait(false);
                        }
                        catch (ImapCommandException ex) when (ex.Response == ImapCommandResponse.No)
                        {
                            // Expunged meanwhile by another client: the destination says whether it went there.
                        }
                    }
                }
                await source.CloseAsync(false, cancellationToken).ConfigureAwait(false);
            }
            var deadline = DateTimeOffset.UtcNow + (otherIsMoving ? WaitForOther : TimeSpan.Zero);
            while (true)
            {
                var there = await KeepOneAsync(client, target, marker, cancellationToken).ConfigureAwait(false);
                if (there)
                {
                    return;
                }
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    break;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
            if (otherIsMoving)
            {
                throw new IOException($"Mail {decisionId} is being moved by another SmartMail instance; looked for again later.");
            }
            throw new ActionRefusedException($"Mail {decisionId} is no longer in folder '{Name(from, separator)}' of {options.Name} (moved or deleted in the mailbox).");
        }
        finally
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync(true, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    // Whether the mail is in the target, leaving one copy there. Two instances' claims can both succeed on a server that
    // checks UNCHANGEDSINCE apart from the store (Dovecot did, once in many CI runs), and then both MOVEs give a copy. The
    // copies carry the same marker; every mover looks after its own MOVE has completed, so the last one sees them all and
    // each removes the same ones (all but the lowest UID): one copy remains whatever the order.
    private static async Task<bool> KeepOneAsync(ImapClient client, IMailFolder target, string marker, CancellationToken cancellationToken)
    {
        await target.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        var uids = await target.SearchAsync(SearchQuery.HasKeyword(marker), cancellationToken).ConfigureAwait(false);
        if (uids.Count > 1 && client.Capabilities.HasFlag(ImapCapabilities.UidPlus))
        {
            var extra = uids.OrderBy(u => u.Id).Skip(1).ToList();
            await target.AddFlagsAsync(extra, MessageFlags.Deleted, true, cancellationToken).ConfigureAwait(false);
            await target.ExpungeAsync(extra, cancellationToken).ConfigureAwait(false);
        }
        await target.CloseAsync(false, cancellationToken).ConfigureAwait(false);
        return uids.Count > 0;
    }

    // Claims the mails for this instance with a conditional STORE (UNCHANGEDSINCE their MODSEQ). False when another
    // instance's web claim is on them (it moves them).
    private async Task<bool> ClaimAsync(IMailFolder source, IList<UniqueId> uids, CancellationToken cancellationToken)
    {
        var own = ClaimPrefix + instanceId;
        for (var round = 0; round < 3; round++)
        {
            var summaries = await source.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.ModSeq,
                cancellationToken).ConfigureAwait(false);
            if (summaries.Any(s => s.Keywords.Any(k => k.StartsWith(ClaimPrefix, StringComparison.Ordinal) && k != own)))
            {
                return false;
            }
            var unclaimed = summaries.Where(s => !s.Keywords.Contains(own)).ToList();
            if (unclaimed.Count == 0)
            {
                return true; // claimed by this instance before (a crash between claim and move)
            }
            var modified = 0;
            foreach (var summary in unclaimed)
            {
                var request = new StoreFlagsRequest(StoreAction.Add, [own]) { Silent = true, UnchangedSince = summary.ModSeq ?? 0 };
                modified += (await source.StoreAsync([summary.UniqueId], request, cancellationToken).ConfigureAwait(false)).Count;
            }
            if (modified == 0)
            {
                return true;
            }
        }
        throw new IOException("The mail kept changing while it was claimed for the web action; looked for again later.");
    }

    // As the worker's folder sink names them (ImapFolderCache.FolderName): directly under the personal namespace.
    private static string Name(string destination, char separator) => FolderJournalSink.SafeName(destination).Replace(separator, '_');

    private static async Task<IMailFolder?> FindAsync(IMailFolder root, string name, CancellationToken cancellationToken)
    {
        try
        {
            var folder = await root.GetSubfolderAsync(name, cancellationToken).ConfigureAwait(false);
            return folder is { Exists: true } ? folder : null;
        }
        catch (FolderNotFoundException)
        {
            return null;
        }
    }
}
