using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The watched folder as a mail source: lists the waiting mail (leaving out mail another instance claimed), fetches bodies
/// (one UID FETCH for a batch) and acknowledges delivered mail by moving it to the processed folder.
/// </summary>
internal sealed class ImapSource(ImapSession session, ImapClaims claims, ImapFolderCache folders) : IMailSource
{
    // Each listed mail's RFC822.SIZE.
    private readonly Dictionary<uint, long> _sizes = [];
    // The mails the last listing left out because another instance claimed them: still in the folder.
    private readonly List<MailKey> _claimedByOthers = [];

    /// <summary>The mails in the folder that the last listing left out because another instance claimed them.</summary>
    public IReadOnlyList<MailKey> ClaimedByOthers => _claimedByOthers;

    /// <inheritdoc />
    public string Mailbox => session.Options.Name;

    /// <summary>Forgets the listing of the last connection.</summary>
    public void Reset()
    {
        _sizes.Clear();
        _claimedByOthers.Clear();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken)
    {
        var inbox = session.Inbox;
        // Servers sync a session's view of the folder on NOOP; without it mail another session just appended
        // (the one IDLE told us about) may not be visible to SEARCH yet.
        await session.Client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        var uids = await inbox.SearchAsync(SearchQuery.All, cancellationToken).ConfigureAwait(false);
        _claimedByOthers.Clear();
        if (uids.Count == 0)
        {
            return [];
        }
        var atomicClaims = session.SupportsModSequences;
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Size
            | (atomicClaims ? MessageSummaryItems.Flags | MessageSummaryItems.ModSeq : MessageSummaryItems.None);
        var summaries = await inbox.FetchAsync(uids, items, cancellationToken).ConfigureAwait(false);
        claims.ClearListing();
        _sizes.Clear();
        var result = new List<PendingMail>(summaries.Count);
        foreach (var summary in ImapSession.Requested(summaries, uids))
        {
            // FLAGS and MODSEQ come from one FETCH response: the state of the message at one moment.
            if (atomicClaims && !claims.Observe(summary))
            {
                _claimedByOthers.Add(session.Key(summary.UniqueId));
                continue;
            }
            _sizes[summary.UniqueId.Id] = (long)(summary.Size ?? 0);
            result.Add(new PendingMail(session.Key(summary.UniqueId), (long)(summary.Size ?? 0)));
        }
        return result;
    }

    /// <inheritdoc />
    public async Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken)
    {
        if (!session.IsCurrent(key))
        {
            return null;
        }
        try
        {
            using var stream = await session.Inbox.GetStreamAsync(ImapSession.Uid(key), cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return ExpungedMeanwhile(ImapSession.Uid(key), buffer.Length) ? null : buffer.ToArray();
        }
        catch (MessageNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Fetches the bodies of several mails in one UID FETCH.</summary>
    /// <returns>Body per key; a key missing from the result is gone.</returns>
    public async Task<Dictionary<MailKey, byte[]>> FetchManyAsync(IReadOnlyList<MailKey> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var current = keys.Where(session.IsCurrent).ToDictionary(k => ImapSession.Uid(k).Id);
        var result = new Dictionary<MailKey, byte[]>();
        if (current.Count == 0)
        {
            return result;
        }
        foreach (var (uid, body) in await FetchBodiesAsync(session.Inbox, [.. current.Keys.Select(id => new UniqueId(id))], cancellationToken).ConfigureAwait(false))
        {
            if (!ExpungedMeanwhile(new UniqueId(uid), body.Length))
            {
                result[current[uid]] = body;
            }
        }
        return result;
    }

    /// <summary>The raw bodies of several messages of an open folder, in one UID FETCH.</summary>
    /// <returns>Body per UID; a UID missing from the result is gone.</returns>
    public static async Task<Dictionary<uint, byte[]>> FetchBodiesAsync(IMailFolder folder, IList<UniqueId> uids, CancellationToken cancellationToken)
    {
        var result = new Dictionary<uint, byte[]>();
        await ((ImapFolder)folder).GetStreamsAsync(uids, async (_, _, uid, stream, ct) =>
        {
            // MailKit hands over a seekable in-memory stream: one array of the exact size, not a growing buffer
            // (up to twice the mail) and its copy, so a byte-sized batch costs about its bytes.
            if (stream.CanSeek)
            {
                var body = new byte[checked((int)(stream.Length - stream.Position))];
                await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
                result[uid.Id] = body;
                return;
            }
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            result[uid.Id] = buffer.ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Moves the mail out of the watched folder when it was delivered elsewhere; nothing when it was moved already.</summary>
    public async Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var uid = ImapSession.Uid(key);
        if (!session.IsCurrent(key) || session.MovedThisSession.Contains(uid.Id) || !await session.ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        var processed = await folders.GetOrCreateAsync(session.Options.ProcessedFolder, cancellationToken).ConfigureAwait(false);
        await session.Inbox.MoveToAsync(uid, processed, cancellationToken).ConfigureAwait(false);
    }

    // A mail another session expunged while this one still sees it is answered with an empty body (Dovecot): that is a
    // mail gone, not an empty mail (whose listed size is 0 too). Decided as it is, it would be taken for unparseable.
    private bool ExpungedMeanwhile(UniqueId uid, long bodyLength) => bodyLength == 0 && _sizes.GetValueOrDefault(uid.Id) > 0;
}
