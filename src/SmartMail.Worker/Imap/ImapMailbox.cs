using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// One IMAP mailbox as a mail source and as the sink for its department folders. Delivery tags the message with
/// a keyword derived from the decision id, then moves it (MailKit uses UID MOVE, or COPY + \Deleted + UID EXPUNGE
/// where MOVE is missing). The keyword makes delivery idempotent and lets a crash between MOVE and the ledger
/// be resolved on reconnect. Not thread-safe: one worker loop owns it (as <see cref="ImapClient"/> requires).
/// </summary>
public sealed class ImapMailbox : IMailSource, IJournalSink, IDisposable
{
    private readonly ImapMailboxOptions _options;
    private readonly ImapClient _client = new();
    private readonly Dictionary<string, IMailFolder> _folders = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _movedThisSession = [];
    private IMailFolder? _inbox;

    /// <summary>Creates the mailbox (not yet connected).</summary>
    /// <param name="options">Connection settings.</param>
    public ImapMailbox(ImapMailboxOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _client.Timeout = (int)options.CommandTimeout.TotalMilliseconds;
        _client.ServerCertificateValidationCallback = CertificateValidator(options.CaCertificateFile);
    }

    /// <inheritdoc />
    public string Mailbox => _options.Name;

    /// <summary>The watched folder's UIDVALIDITY in this session.</summary>
    public uint UidValidity => _inbox?.UidValidity ?? 0;

    /// <summary>Whether the server offers IDLE.</summary>
    public bool SupportsIdle => _client.Capabilities.HasFlag(ImapCapabilities.Idle);

    /// <summary>Whether the server offers MOVE.</summary>
    public bool SupportsMove => _client.Capabilities.HasFlag(ImapCapabilities.Move);

    /// <summary>Connects, authenticates and opens the watched folder read-write.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="AuthenticationException">The credentials were refused (not transient: do not retry).</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await ConnectClientAsync(_client, _options, cancellationToken).ConfigureAwait(false);
        _folders.Clear();
        _movedThisSession.Clear();
        _inbox = await _client.GetFolderAsync(_options.Folder, cancellationToken).ConfigureAwait(false);
        await _inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connects and authenticates <paramref name="client"/> as <paramref name="options"/> say.</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    internal static async Task ConnectClientAsync(ImapClient client, ImapMailboxOptions options, CancellationToken cancellationToken)
    {
        // Every connection of a mailbox (work, IDLE, corrections) trusts the same CA.
        client.ServerCertificateValidationCallback ??= CertificateValidator(options.CaCertificateFile);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CommandTimeout);
        var security = options.Security switch
        {
            "StartTls" => SecureSocketOptions.StartTls,
            "None" when options.AllowPlaintext => SecureSocketOptions.None,
            "None" => throw new InvalidOperationException($"Mailbox '{options.Name}': Security None needs AllowPlaintext=true."),
            _ => SecureSocketOptions.SslOnConnect,
        };
        await client.ConnectAsync(options.Host, options.Port, security, timeout.Token).ConfigureAwait(false);
        await client.AuthenticateAsync(options.Username, options.ResolvePassword(), timeout.Token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken)
    {
        var inbox = Inbox;
        // Servers sync a session's view of the folder on NOOP; without it mail another session just appended
        // (the one IDLE told us about) may not be visible to SEARCH yet.
        await _client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        var uids = await inbox.SearchAsync(SearchQuery.All, cancellationToken).ConfigureAwait(false);
        if (uids.Count == 0)
        {
            return [];
        }
        var summaries = await inbox.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Size, cancellationToken)
            .ConfigureAwait(false);
        return [.. summaries.OrderBy(s => s.UniqueId.Id)
            .Select(s => new PendingMail(Key(s.UniqueId), (long)(s.Size ?? 0)))];
    }

    /// <inheritdoc />
    public async Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken)
    {
        if (!IsCurrent(key))
        {
            return null;
        }
        try
        {
            using var stream = await Inbox.GetStreamAsync(Uid(key), cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (MessageNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Fetches the bodies of several mails in one UID FETCH.</summary>
    /// <param name="keys">The mails.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Body per key; a key missing from the result is gone.</returns>
    public async Task<Dictionary<MailKey, byte[]>> FetchManyAsync(IReadOnlyList<MailKey> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var current = keys.Where(IsCurrent).ToDictionary(k => Uid(k).Id);
        var result = new Dictionary<MailKey, byte[]>();
        if (current.Count == 0)
        {
            return result;
        }
        var folder = (ImapFolder)Inbox;
        await folder.GetStreamsAsync([.. current.Keys.Select(id => new UniqueId(id))], async (_, _, uid, stream, ct) =>
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            result[current[uid.Id]] = buffer.ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Tags the mail with its decision keyword and moves it to the destination folder.</summary>
    /// <param name="delivery">The delivery.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var uid = Uid(delivery.Key);
        var destination = await FolderAsync(delivery.Destination, cancellationToken).ConfigureAwait(false);
        if (!IsCurrent(delivery.Key) || !await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
        {
            // Gone from the watched folder: delivered before a crash (the keyword proves it) or taken by someone else.
            if (await FindByKeywordAsync(destination, delivery.DecisionId, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {_options.Folder} before it was delivered.");
        }
        await Inbox.AddFlagsAsync(uid, MessageFlags.None, new HashSet<string> { Keyword(delivery.DecisionId) }, true, cancellationToken)
            .ConfigureAwait(false);
        var moved = await Inbox.MoveToAsync(uid, destination, cancellationToken).ConfigureAwait(false);
        // With UIDPLUS the server names the new UID. Without it (or when another client expunged the mail between our
        // checks, which a server answers with OK and nothing moved) the keyword in the destination is the proof.
        if (moved is null && !await FindByKeywordAsync(destination, delivery.DecisionId, cancellationToken).ConfigureAwait(false))
        {
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {_options.Folder} before it was delivered.");
        }
        _movedThisSession.Add(uid.Id);
    }

    /// <summary>
    /// Delivers a batch with one UID MOVE per destination: all mails bound for one destination get one marker keyword,
    /// recorded in the ledger before it is set, then move together (a single MOVE costs a server fsync; a batch costs
    /// about the same). A mail the server did not move is checked in the destination by marker and fingerprint; if it is
    /// not there it was taken by another client.
    /// </summary>
    /// <param name="deliveries">Mails of this mailbox, decided.</param>
    /// <param name="store">The ledger that records the markers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Per delivery, <see langword="null"/> when delivered, else the failure.</returns>
    public async Task<IReadOnlyList<Exception?>> DeliverBatchAsync(IReadOnlyList<Delivery> deliveries, SqliteStateStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(store);
        var results = new Exception?[deliveries.Count];
        var groups = new List<(IMailFolder Destination, string Marker, List<(Delivery Delivery, int Index)> Items)>();
        foreach (var group in deliveries.Select((d, i) => (Delivery: d, Index: i)).GroupBy(x => x.Delivery.Destination, StringComparer.Ordinal))
        {
            var items = group.Where(x => IsCurrent(x.Delivery.Key)).ToList();
            foreach (var stale in group.Where(x => !IsCurrent(x.Delivery.Key)))
            {
                results[stale.Index] = new MailGoneException($"Mail {stale.Delivery.Key.Uid} belongs to an older UIDVALIDITY.");
            }
            if (items.Count > 0)
            {
                groups.Add((await FolderAsync(group.Key, cancellationToken).ConfigureAwait(false), Keyword(items[0].Delivery.DecisionId), items));
            }
        }
        // Every marker is durable before any mail is tagged or moved: one transaction for the whole batch.
        store.SetMarkers(groups.SelectMany(g => g.Items.Select(x => (x.Delivery.Key, g.Marker))));
        foreach (var (destination, marker, items) in groups)
        {
            var uids = items.Select(x => Uid(x.Delivery.Key)).ToList();
            await Inbox.AddFlagsAsync(uids, MessageFlags.None, new HashSet<string> { marker }, true, cancellationToken).ConfigureAwait(false);
            var map = await Inbox.MoveToAsync(uids, destination, cancellationToken).ConfigureAwait(false);
            var moved = map.Source.Select(u => u.Id).ToHashSet();
            var unconfirmed = items.Where(x => !moved.Contains(Uid(x.Delivery.Key).Id)).ToList();
            if (unconfirmed.Count > 0)
            {
                // No COPYUID (a server without UIDPLUS) or mail another client expunged meanwhile: look for it.
                var present = await FingerprintsWithKeywordAsync(destination, marker, cancellationToken).ConfigureAwait(false);
                foreach (var x in unconfirmed.Where(x => !present.Contains(Core.Mime.MailExtractor.Fingerprint(x.Delivery.Raw))))
                {
                    results[x.Index] = new MailGoneException($"Mail {x.Delivery.Key.Uid} left {_options.Folder} before it was delivered.");
                }
            }
            _movedThisSession.UnionWith(uids.Select(u => u.Id));
        }
        return results;
    }

    /// <summary>Moves the mail out of the watched folder when it was delivered elsewhere; nothing when it was moved already.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var uid = Uid(key);
        if (!IsCurrent(key) || _movedThisSession.Contains(uid.Id) || !await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        var processed = await FolderAsync(_options.ProcessedFolder, cancellationToken).ConfigureAwait(false);
        await Inbox.MoveToAsync(uid, processed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the mail with <paramref name="fingerprint"/>, tagged <paramref name="marker"/>, is in <paramref name="destination"/>.</summary>
    /// <param name="destination">The destination name.</param>
    /// <param name="marker">The keyword set before the move.</param>
    /// <param name="fingerprint">The mail's fingerprint.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it is there.</returns>
    public async Task<bool> IsDeliveredAsync(string destination, string marker, string fingerprint, CancellationToken cancellationToken)
    {
        var folder = await FolderAsync(destination, cancellationToken).ConfigureAwait(false);
        return (await FingerprintsWithKeywordAsync(folder, marker, cancellationToken).ConfigureAwait(false)).Contains(fingerprint);
    }

    /// <summary>The keyword a delivered mail carries: its decision id as an IMAP atom.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The keyword.</returns>
    public static string Keyword(string decisionId) => "$SmartMail_" + decisionId;

    /// <summary>The folder for a destination name (created when missing), directly under the personal namespace.</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The folder.</returns>
    public async Task<IMailFolder> FolderAsync(string destination, CancellationToken cancellationToken)
    {
        if (_folders.TryGetValue(destination, out var cached))
        {
            return cached;
        }
        var root = _client.GetFolder(_client.PersonalNamespaces[0]);
        var name = FolderJournalSink.SafeName(destination).Replace(root.DirectorySeparator, '_');
        IMailFolder folder;
        try
        {
            folder = await root.GetSubfolderAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new FolderNotFoundException(name);
            if (!folder.Exists)
            {
                folder = await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                    ?? throw new IOException($"Mailbox '{_options.Name}': folder '{name}' could not be created.");
            }
        }
        catch (FolderNotFoundException)
        {
            folder = await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                    ?? throw new IOException($"Mailbox '{_options.Name}': folder '{name}' could not be created.");
        }
        _folders[destination] = folder;
        return folder;
    }

    /// <summary>Closes the connection politely.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private IMailFolder Inbox => _inbox ?? throw new InvalidOperationException($"Mailbox '{_options.Name}' is not connected.");

    private MailKey Key(UniqueId uid) => new(Mailbox, _options.Folder, UidValidity, uid.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private bool IsCurrent(MailKey key) => key.UidValidity == UidValidity && key.Folder == _options.Folder;

    private static UniqueId Uid(MailKey key) => new(uint.Parse(key.Uid, System.Globalization.CultureInfo.InvariantCulture));

    private async Task<bool> ExistsAsync(UniqueId uid, CancellationToken cancellationToken) =>
        (await Inbox.SearchAsync(SearchQuery.Uids([uid]), cancellationToken).ConfigureAwait(false)).Count > 0;

    private Task<bool> FindByKeywordAsync(IMailFolder folder, string decisionId, CancellationToken cancellationToken) =>
        InFolderAsync(folder, async () =>
            (await folder.SearchAsync(SearchQuery.HasKeyword(Keyword(decisionId)), cancellationToken).ConfigureAwait(false)).Count > 0,
            cancellationToken);

    // The fingerprints of the messages in a folder that carry a keyword (a marker names one batch: a few hundred at most).
    private Task<HashSet<string>> FingerprintsWithKeywordAsync(IMailFolder folder, string keyword, CancellationToken cancellationToken) =>
        InFolderAsync(folder, async () =>
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var uid in await folder.SearchAsync(SearchQuery.HasKeyword(keyword), cancellationToken).ConfigureAwait(false))
            {
                using var stream = await folder.GetStreamAsync(uid, cancellationToken).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                result.Add(Core.Mime.MailExtractor.Fingerprint(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
            }
            return result;
        }, cancellationToken);

    // One IMAP connection has one open folder: looking into a destination closes the watched folder, so reopen it.
    private async Task<T> InFolderAsync<T>(IMailFolder folder, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            await folder.CloseAsync(false, cancellationToken).ConfigureAwait(false);
            await Inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        }
    }

    // Trust the system store, or a configured CA (a municipality's own, or a test CA): never "accept all".
    private static RemoteCertificateValidationCallback CertificateValidator(string? caFile)
    {
        X509Certificate2? ca = caFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(caFile);
        return (_, certificate, _, errors) =>
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }
            if (ca is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
                || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            return chain.Build(leaf);
        };
    }
}
