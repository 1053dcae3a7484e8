using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The work connection of one mailbox: its client, the watched folder opened read-write, and the keys of this session's
/// mail. The source, the folder sink, the claims and the folder cache of an <see cref="ImapMailbox"/> share it. Not thread-safe.
/// </summary>
internal sealed class ImapSession(ImapMailboxOptions options) : IDisposable
{
    private IMailFolder? _inbox;

    public ImapMailboxOptions Options { get; } = options;

    /// <summary>The client (one connection: one open folder at a time).</summary>
    public ImapClient Client { get; } = ImapConnection.NewClient(options);

    /// <summary>The watched folder, open read-write.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    public IMailFolder Inbox => _inbox ?? throw new InvalidOperationException($"Mailbox '{Options.Name}' is not connected.");

    /// <summary>The watched folder's UIDVALIDITY in this session (0 before connecting).</summary>
    public uint UidValidity => _inbox?.UidValidity ?? 0;

    /// <summary>Whether the watched folder offers CONDSTORE (atomic claims).</summary>
    public bool SupportsModSequences => _inbox?.Supports(FolderFeature.ModSequences) == true;

    /// <summary>UIDs this session moved out of the watched folder (delivered to a folder: nothing to acknowledge).</summary>
    public HashSet<uint> MovedThisSession { get; } = [];

    /// <summary>Connects, authenticates and opens the watched folder read-write.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await ImapConnection.ConnectAsync(Client, Options, cancellationToken).ConfigureAwait(false);
        MovedThisSession.Clear();
        _inbox = await Client.GetFolderAsync(Options.Folder, cancellationToken).ConfigureAwait(false);
        await _inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
    }

    public MailKey Key(UniqueId uid) => new(Options.Name, Options.Folder, UidValidity, uid.Id.ToString(CultureInfo.InvariantCulture));

    /// <summary>Whether the key belongs to the watched folder as this session numbers it (same folder, same UIDVALIDITY).</summary>
    public bool IsCurrent(MailKey key) => key.UidValidity == UidValidity && key.Folder == Options.Folder;

    public static UniqueId Uid(MailKey key) => new(uint.Parse(key.Uid, CultureInfo.InvariantCulture));

    public async Task<bool> ExistsAsync(UniqueId uid, CancellationToken cancellationToken) =>
        (await Inbox.SearchAsync(SearchQuery.Uids([uid]), cancellationToken).ConfigureAwait(false)).Count > 0;

    // The summaries of the requested mails, one each, by UID. While another session changes the folder, the server also
    // sends unsolicited FETCH responses (flag changes, without UID) that MailKit returns alongside: drop those.
    public static IEnumerable<IMessageSummary> Requested(IEnumerable<IMessageSummary> summaries, IList<UniqueId> uids)
    {
        var wanted = uids.Select(u => u.Id).ToHashSet();
        return summaries.Where(s => s.UniqueId.IsValid && wanted.Contains(s.UniqueId.Id)).DistinctBy(s => s.UniqueId.Id).OrderBy(s => s.UniqueId.Id);
    }

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (Client.IsConnected)
        {
            await Client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => Client.Dispose();
}
