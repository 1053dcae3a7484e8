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
/// One IMAP mailbox as a mail source and as the sink for its department folders. Before any delivery the mail is
/// claimed: tagged with a marker keyword that names this instance (<see cref="SqliteStateStore.InstanceId"/>) and the
/// decision. Where the server offers CONDSTORE the claim is a conditional STORE (<c>UNCHANGEDSINCE</c> the MODSEQ read
/// with the listing), so of two instances watching one mailbox only one can claim a mail; mail that carries another
/// instance's marker is not listed. Then the mail is moved (MailKit uses UID MOVE, or COPY + \Deleted + UID EXPUNGE
/// where MOVE is missing). The marker also makes delivery idempotent and lets a crash between MOVE and the ledger be
/// resolved on reconnect. Not thread-safe: one worker loop owns it (as <see cref="ImapClient"/> requires).
/// </summary>
public sealed class ImapMailbox : IMailSource, IJournalSink, IDisposable
{
    private readonly ImapMailboxOptions _options;
    private readonly ImapClient _client;
    private readonly Dictionary<string, IMailFolder> _folders = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _movedThisSession = [];
    // From the last listing (CONDSTORE only): each mail's MODSEQ and the markers of this instance it carries.
    private readonly Dictionary<uint, (ulong ModSeq, string? OwnMarker)> _listed = [];
    // Mails this session holds a claim on, with the marker that is the claim.
    private readonly Dictionary<uint, string> _claimed = [];
    // Each listed mail's RFC822.SIZE.
    private readonly Dictionary<uint, long> _sizes = [];
    private readonly string _instanceId;
    private IMailFolder? _inbox;
    private char _separator = '.';

    /// <summary>Creates the mailbox (not yet connected).</summary>
    /// <param name="options">Connection settings.</param>
    /// <param name="instanceId">This instance's id (<see cref="SqliteStateStore.InstanceId"/>): letters and digits, at most 8.</param>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is empty, too long or not letters and digits.</exception>
    public ImapMailbox(ImapMailboxOptions options, string instanceId)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        if (instanceId.Length > 8 || !instanceId.All(char.IsAsciiLetterOrDigit))
        {
            // Dovecot refuses keywords longer than 50 characters: "$SmartMail_" + 8 + "_" + a 27-character decision id is 47.
            throw new ArgumentException("An instance id is 1-8 ASCII letters and digits.", nameof(instanceId));
        }
        _instanceId = instanceId;
        _client = NewClient(options);
    }

    /// <inheritdoc />
    public string Mailbox => _options.Name;

    /// <summary>The watched folder's UIDVALIDITY in this session.</summary>
    public uint UidValidity => _inbox?.UidValidity ?? 0;

    /// <summary>Whether the server offers IDLE.</summary>
    public bool SupportsIdle => _client.Capabilities.HasFlag(ImapCapabilities.Idle);

    /// <summary>Whether the server offers MOVE.</summary>
    public bool SupportsMove => _client.Capabilities.HasFlag(ImapCapabilities.Move);

    /// <summary>
    /// Whether claims are atomic: the server offers CONDSTORE on the watched folder. Without it a claim is a plain STORE,
    /// and two instances on one mailbox can still both move a mail.
    /// </summary>
    public bool SupportsClaims => _inbox?.Supports(FolderFeature.ModSequences) == true;

    /// <summary>
    /// Whether mail another instance claimed (and left in the folder) is taken over: set by the lease holder once no
    /// command of a former holder can still be in flight. Without a lease, another instance's claim is always left to it.
    /// </summary>
    public bool AdoptForeignClaims { get; set; }

    /// <summary>Connects, authenticates and opens the watched folder read-write.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="AuthenticationException">The credentials were refused (not transient: do not retry).</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await ConnectClientAsync(_client, _options, cancellationToken).ConfigureAwait(false);
        _folders.Clear();
        _movedThisSession.Clear();
        _listed.Clear();
        _claimed.Clear();
        _sizes.Clear();
        _separator = _client.PersonalNamespaces.Count > 0 ? _client.PersonalNamespaces[0].DirectorySeparator : '.';
        _inbox = await _client.GetFolderAsync(_options.Folder, cancellationToken).ConfigureAwait(false);
        await _inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A client for one more connection of a mailbox (IDLE, corrections, history): its time-out and trusted CA.</summary>
    /// <param name="options">The mailbox.</param>
    /// <returns>The client, not yet connected.</returns>
    /// <exception cref="MailboxConfigurationException">The CA certificate file cannot be read.</exception>
    internal static ImapClient NewClient(ImapMailboxOptions options)
    {
        RemoteCertificateValidationCallback validator;
        try
        {
            validator = CertificateValidator(options.CaCertificateFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new MailboxConfigurationException(options.Name, "CaCertificateFile",
                $"the CA certificate '{options.CaCertificateFile}' cannot be read ({ex.GetType().Name}).", ex);
        }
        return new()
        {
            Timeout = (int)options.CommandTimeout.TotalMilliseconds,
            ServerCertificateValidationCallback = validator,
        };
    }

    /// <summary>Connects and authenticates <paramref name="client"/> as <paramref name="options"/> say.</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailboxConfigurationException">A setting is wrong (no password, an unreadable password file, plaintext not allowed).</exception>
    internal static async Task ConnectClientAsync(ImapClient client, ImapMailboxOptions options, CancellationToken cancellationToken)
    {
        // The settings first: a configuration error is found before the network is touched, and is never taken for an outage.
        var security = options.Security switch
        {
            "StartTls" => SecureSocketOptions.StartTls,
            "None" when options.AllowPlaintext => SecureSocketOptions.None,
            "None" => throw new MailboxConfigurationException(options.Name, "AllowPlaintext", "Security None needs AllowPlaintext=true."),
            _ => SecureSocketOptions.SslOnConnect,
        };
        var password = Password(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CommandTimeout);
        await client.ConnectAsync(options.Host, options.Port, security, timeout.Token).ConfigureAwait(false);
        await client.AuthenticateAsync(options.Username, password, timeout.Token).ConfigureAwait(false);
    }

    private static string Password(ImapMailboxOptions options)
    {
        try
        {
            return options.ResolvePassword();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailboxConfigurationException(options.Name, "PasswordFile", $"the password file '{options.PasswordFile}' cannot be read ({ex.GetType().Name}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new MailboxConfigurationException(options.Name, "Password", "set PasswordFile or Password (from the environment).", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// With CONDSTORE, mail another instance has claimed is not listed (that instance delivers it) unless
    /// <see cref="AdoptForeignClaims"/> is set.
    /// </remarks>
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
        var claims = SupportsClaims;
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Size
            | (claims ? MessageSummaryItems.Flags | MessageSummaryItems.ModSeq : MessageSummaryItems.None);
        var summaries = await inbox.FetchAsync(uids, items, cancellationToken).ConfigureAwait(false);
        _listed.Clear();
        _sizes.Clear();
        var result = new List<PendingMail>(summaries.Count);
        foreach (var summary in Requested(summaries, uids))
        {
            if (claims)
            {
                // FLAGS and MODSEQ come from one FETCH response: the state of the message at one moment.
                if (!AdoptForeignClaims && summary.Keywords.Any(IsForeignMarker))
                {
                    continue;
                }
                _listed[summary.UniqueId.Id] = (summary.ModSeq ?? 0, summary.Keywords.FirstOrDefault(IsOwnMarker));
            }
            _sizes[summary.UniqueId.Id] = (long)(summary.Size ?? 0);
            result.Add(new PendingMail(Key(summary.UniqueId), (long)(summary.Size ?? 0)));
        }
        return result;
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
            return ExpungedMeanwhile(Uid(key), buffer.Length) ? null : buffer.ToArray();
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
        foreach (var (uid, body) in await FetchBodiesAsync(Inbox, [.. current.Keys.Select(id => new UniqueId(id))], cancellationToken).ConfigureAwait(false))
        {
            if (!ExpungedMeanwhile(new UniqueId(uid), body.Length))
            {
                result[current[uid]] = body;
            }
        }
        return result;
    }

    /// <summary>The raw bodies of several messages of an open folder, in one UID FETCH.</summary>
    /// <param name="folder">The folder (opened).</param>
    /// <param name="uids">The messages.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Body per UID; a UID missing from the result is gone.</returns>
    internal static async Task<Dictionary<uint, byte[]>> FetchBodiesAsync(IMailFolder folder, IList<UniqueId> uids, CancellationToken cancellationToken)
    {
        var result = new Dictionary<uint, byte[]>();
        await ((ImapFolder)folder).GetStreamsAsync(uids, async (_, _, uid, stream, ct) =>
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            result[uid.Id] = buffer.ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    // A mail another session expunged while this one still sees it is answered with an empty body (Dovecot): that is a
    // mail gone, not an empty mail (whose listed size is 0 too). Decided as it is, it would be quarantined as unparseable.
    private bool ExpungedMeanwhile(UniqueId uid, long bodyLength) => bodyLength == 0 && _sizes.GetValueOrDefault(uid.Id) > 0;

    /// <summary>
    /// Claims the mail (unless this session holds its claim already) and moves it to the destination folder. The marker is
    /// <see cref="Marker"/> of the decision id, so a crash is resolved without a ledger record of it.
    /// </summary>
    /// <param name="delivery">The delivery.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailGoneException">The mail left the folder before it was delivered.</exception>
    /// <exception cref="MailClaimedException">Another instance claimed the mail.</exception>
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var uid = Uid(delivery.Key);
        var destination = await FolderAsync(delivery.Destination, cancellationToken).ConfigureAwait(false);
        var marker = _claimed.GetValueOrDefault(uid.Id) ?? Marker(delivery.DecisionId);
        if (!IsCurrent(delivery.Key) || !await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
        {
            // Gone from the watched folder: delivered before a crash (the marker proves it) or taken by someone else.
            if (await FindByKeywordAsync(destination, marker, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {_options.Folder} before it was delivered.");
        }
        if (!_claimed.ContainsKey(uid.Id) && (await ClaimAsync([(uid, marker)], cancellationToken).ConfigureAwait(false))[uid.Id] is { } failed)
        {
            throw failed;
        }
        marker = _claimed[uid.Id];
        var moved = await MoveAsync([uid], destination, cancellationToken).ConfigureAwait(false);
        // With UIDPLUS the server names the new UID. Without it (or when another client expunged the mail between our
        // checks) the marker in the destination is the proof.
        if (moved.Source.Count == 0 && !await FindByKeywordAsync(destination, marker, cancellationToken).ConfigureAwait(false))
        {
            throw new MailGoneException($"Mail {delivery.Key.Uid} left {_options.Folder} before it was delivered.");
        }
        _movedThisSession.Add(uid.Id);
    }

    /// <summary>
    /// Claims a batch of mails for this instance before anything is delivered. A mail that carries this instance's marker
    /// already (a claim made before a crash) stays claimed by it; the others get one new marker per destination, recorded
    /// in the ledger (one transaction) before it is set. With CONDSTORE the marker is stored only where the mail is unchanged
    /// since the listing read its MODSEQ; a mail that changed is read again: claimed by another instance (left to it), gone,
    /// or merely touched by a person (tried again).
    /// </summary>
    /// <param name="deliveries">Mails of this mailbox, decided.</param>
    /// <param name="store">The ledger that records the markers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>
    /// Per delivery, <see langword="null"/> when this instance holds the claim, else a <see cref="MailClaimedException"/>,
    /// a <see cref="MailGoneException"/> or (a mail that kept changing) an <see cref="IOException"/>.
    /// </returns>
    public async Task<IReadOnlyList<Exception?>> ClaimBatchAsync(IReadOnlyList<Delivery> deliveries, SqliteStateStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(store);
        var results = new Exception?[deliveries.Count];
        var wanted = new List<(int Index, UniqueId Uid, string Marker)>();
        foreach (var group in deliveries.Select((d, i) => (Delivery: d, Index: i)).GroupBy(x => x.Delivery.Destination, StringComparer.Ordinal))
        {
            var marker = Marker(group.First().Delivery.DecisionId);
            foreach (var (delivery, index) in group)
            {
                if (!IsCurrent(delivery.Key))
                {
                    results[index] = new MailGoneException($"Mail {delivery.Key.Uid} belongs to an older UIDVALIDITY.");
                    continue;
                }
                var uid = Uid(delivery.Key);
                if (_claimed.ContainsKey(uid.Id))
                {
                    continue;
                }
                // A resumed mail carries this instance's own earlier claim: keep it (it is recorded in the ledger already).
                wanted.Add((index, uid, _listed.GetValueOrDefault(uid.Id).OwnMarker ?? marker));
            }
        }
        if (wanted.Count == 0)
        {
            return results;
        }
        // Every marker is durable before any mail is tagged: one transaction for the whole batch.
        store.Ledger.Claim(wanted.Select(w => (deliveries[w.Index].Key, w.Marker)));
        var claimed = await ClaimAsync([.. wanted.Select(w => (w.Uid, w.Marker))], cancellationToken).ConfigureAwait(false);
        foreach (var (index, uid, _) in wanted)
        {
            results[index] = claimed[uid.Id];
        }
        // A mail found carrying another marker of this instance (claimed before a crash) keeps that one: record it.
        store.Ledger.Claim(wanted.Where(w => _claimed.TryGetValue(w.Uid.Id, out var m) && m != w.Marker)
            .Select(w => (deliveries[w.Index].Key, _claimed[w.Uid.Id])));
        return results;
    }

    /// <summary>
    /// Delivers a batch with one UID MOVE per destination: the mails are claimed (<see cref="ClaimBatchAsync"/>, a no-op for
    /// mails this session claimed already), then the claimed ones bound for one destination move together (a single MOVE
    /// costs a server fsync; a batch costs about the same). A mail the server did not move is checked in the destination by
    /// marker and fingerprint; if it is not there it was taken by another client.
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
        var results = (await ClaimBatchAsync(deliveries, store, cancellationToken).ConfigureAwait(false)).ToArray();
        foreach (var group in deliveries.Select((d, i) => (Delivery: d, Index: i)).Where(x => results[x.Index] is null)
            .GroupBy(x => x.Delivery.Destination, StringComparer.Ordinal))
        {
            var destination = await FolderAsync(group.Key, cancellationToken).ConfigureAwait(false);
            var uids = group.Select(x => Uid(x.Delivery.Key)).ToList();
            var map = await MoveAsync(uids, destination, cancellationToken).ConfigureAwait(false);
            var moved = map.Source.Select(u => u.Id).ToHashSet();
            // No COPYUID (a server without UIDPLUS) or mail another client expunged meanwhile: look for it, by its marker.
            foreach (var unconfirmed in group.Where(x => !moved.Contains(Uid(x.Delivery.Key).Id)).GroupBy(x => _claimed[Uid(x.Delivery.Key).Id]))
            {
                var present = await FingerprintsWithKeywordAsync(destination, unconfirmed.Key, cancellationToken).ConfigureAwait(false);
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

    /// <inheritdoc />
    /// <remarks>
    /// Delivered when the destination folder holds a message with the decision's marker (the recorded one, else this instance's
    /// marker of the decision id) and the mail's fingerprint. A folder that does not exist holds nothing: it is not created.
    /// </remarks>
    public async Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        if (await ExistingFolderAsync(check.Destination, cancellationToken).ConfigureAwait(false) is not { } folder)
        {
            return false;
        }
        var marker = check.Marker ?? Marker(check.DecisionId);
        return (await FingerprintsWithKeywordAsync(folder, marker, cancellationToken).ConfigureAwait(false)).Contains(check.Fingerprint);
    }

    /// <inheritdoc />
    public string PlaceOf(string destination) => FolderName(destination);

    /// <summary>The prefix of every SmartMail marker keyword.</summary>
    public const string MarkerPrefix = "$SmartMail_";

    /// <summary>The marker (claim) keyword this instance sets for a decision: <c>$SmartMail_INSTANCE_DECISIONID</c>.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The keyword.</returns>
    public string Marker(string decisionId) => $"{MarkerPrefix}{_instanceId}_{decisionId}";

    /// <summary>
    /// Whether <paramref name="keyword"/> is another instance's marker. Markers from before instance ids
    /// (<c>$SmartMail_sm-…</c>, when one instance per mailbox was the rule) count as this instance's.
    /// </summary>
    /// <param name="keyword">A keyword on a message.</param>
    /// <returns><see langword="true"/> for another instance's claim.</returns>
    public bool IsForeignMarker(string keyword) =>
        keyword is not null && keyword.StartsWith(MarkerPrefix, StringComparison.Ordinal) && !IsOwnMarker(keyword);

    private bool IsOwnMarker(string keyword) =>
        keyword.StartsWith(MarkerPrefix, StringComparison.Ordinal)
        && (keyword.AsSpan(MarkerPrefix.Length).StartsWith("sm-", StringComparison.Ordinal)
            || (keyword.AsSpan(MarkerPrefix.Length).StartsWith(_instanceId, StringComparison.Ordinal)
                && keyword.Length > MarkerPrefix.Length + _instanceId.Length && keyword[MarkerPrefix.Length + _instanceId.Length] == '_'));

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
        var name = FolderName(destination);
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

    // The folder a destination is delivered to, if it exists (never created).
    private async Task<IMailFolder?> ExistingFolderAsync(string destination, CancellationToken cancellationToken)
    {
        if (_folders.TryGetValue(destination, out var cached))
        {
            return cached;
        }
        try
        {
            var folder = await _client.GetFolder(_client.PersonalNamespaces[0]).GetSubfolderAsync(FolderName(destination), cancellationToken)
                .ConfigureAwait(false);
            return folder is { Exists: true } ? folder : null;
        }
        catch (FolderNotFoundException)
        {
            return null;
        }
    }

    // A destination's folder name: one safe segment directly under the personal namespace ("Manuel visitering" → "Manuel_visitering").
    private string FolderName(string destination) => FolderJournalSink.SafeName(destination).Replace(_separator, '_');

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

    private Task<bool> FindByKeywordAsync(IMailFolder folder, string marker, CancellationToken cancellationToken) =>
        InFolderAsync(folder, async () =>
            (await folder.SearchAsync(SearchQuery.HasKeyword(marker), cancellationToken).ConfigureAwait(false)).Count > 0,
            cancellationToken);

    // Sets each mail's marker. With CONDSTORE: only where the mail is unchanged since its MODSEQ was read: one STORE per
    // marker and MODSEQ, UNCHANGEDSINCE that MODSEQ. (Not the highest MODSEQ of the batch: a FETCH of many messages is not
    // one moment, so another session's claim of an early message can carry a lower MODSEQ than a later message read after
    // it — measured: two instances duplicated 13 of 200 mails that way.) The mails
    // the server reports modified are read again and sorted out; after three rounds a mail that keeps changing is left
    // for the next drain. Returns, per UID, null when claimed (and then in _claimed) or the reason it is not.
    private async Task<Dictionary<uint, Exception?>> ClaimAsync(IReadOnlyList<(UniqueId Uid, string Marker)> wanted,
        CancellationToken cancellationToken)
    {
        var results = new Dictionary<uint, Exception?>();
        if (!SupportsClaims)
        {
            foreach (var group in wanted.GroupBy(w => w.Marker, StringComparer.Ordinal))
            {
                await Inbox.AddFlagsAsync([.. group.Select(w => w.Uid)], MessageFlags.None, new HashSet<string> { group.Key }, true,
                    cancellationToken).ConfigureAwait(false);
                foreach (var (uid, marker) in group)
                {
                    (results[uid.Id], _claimed[uid.Id]) = (null, marker);
                }
            }
            return results;
        }
        var pending = wanted.ToList();
        for (var round = 0; pending.Count > 0; round++)
        {
            if (round == 3)
            {
                foreach (var (uid, _) in pending)
                {
                    results[uid.Id] = new IOException($"Mail {uid.Id} kept changing while it was claimed; left for the next drain.");
                }
                break;
            }
            // The state is read again right before the STORE (one FETCH for the batch): what the listing saw may be minutes old
            // and, with another session changing the folder during a long FETCH, not one consistent moment.
            await ReadClaimStateAsync([.. pending.Where(p => round == 0 || _listed.GetValueOrDefault(p.Uid.Id).ModSeq == 0).Select(p => p.Uid)],
                results, cancellationToken).ConfigureAwait(false);
            var retry = new List<(UniqueId Uid, string Marker)>();
            var unsettled = pending.Where(p => !results.ContainsKey(p.Uid.Id)).ToList();
            foreach (var (uid, _) in unsettled.Where(p => _listed[p.Uid.Id].OwnMarker is not null))
            {
                // Claimed by this instance before (a crash, or the STORE answer was lost): that marker is the claim.
                (results[uid.Id], _claimed[uid.Id]) = (null, _listed[uid.Id].OwnMarker!);
            }
            foreach (var group in unsettled.Where(p => _listed[p.Uid.Id].OwnMarker is null)
                .GroupBy(p => (p.Marker, _listed[p.Uid.Id].ModSeq)))
            {
                var uids = group.Select(p => p.Uid).ToList();
                var request = new StoreFlagsRequest(StoreAction.Add, [group.Key.Marker])
                {
                    Silent = true,
                    UnchangedSince = group.Key.ModSeq,
                };
                var modified = (await Inbox.StoreAsync(uids, request, cancellationToken).ConfigureAwait(false)).Select(u => u.Id).ToHashSet();
                foreach (var uid in uids)
                {
                    if (modified.Contains(uid.Id))
                    {
                        _listed.Remove(uid.Id); // read it again
                        retry.Add((uid, group.Key.Marker));
                    }
                    else
                    {
                        // Stored, or expunged meanwhile (a STORE skips those silently): the MOVE tells which.
                        (results[uid.Id], _claimed[uid.Id]) = (null, group.Key.Marker);
                        _listed[uid.Id] = (_listed[uid.Id].ModSeq, group.Key.Marker);
                    }
                }
            }
            pending = retry;
        }
        return results;
    }

    // UID MOVE. When another session expunged some of the mails first, Dovecot answers NO ("Some of the requested messages
    // no longer exist") after moving the rest, or none: MailKit then throws without the COPYUID. Move what is still here;
    // the caller looks for the others in the destination by marker.
    private async Task<UniqueIdMap> MoveAsync(IList<UniqueId> uids, IMailFolder destination, CancellationToken cancellationToken)
    {
        try
        {
            return await Inbox.MoveToAsync(uids, destination, cancellationToken).ConfigureAwait(false);
        }
        catch (ImapCommandException ex) when (ex.Response == ImapCommandResponse.No)
        {
            await _client.NoOpAsync(cancellationToken).ConfigureAwait(false); // take in the other session's expunges
            var still = await Inbox.SearchAsync(SearchQuery.Uids(uids), cancellationToken).ConfigureAwait(false);
            return still.Count == 0 ? UniqueIdMap.Empty : await Inbox.MoveToAsync(still, destination, cancellationToken).ConfigureAwait(false);
        }
    }

    // The summaries of the requested mails, one each, by UID. While another session changes the folder, the server also
    // sends unsolicited FETCH responses (flag changes, without UID) that MailKit returns alongside: drop those.
    private static IEnumerable<IMessageSummary> Requested(IEnumerable<IMessageSummary> summaries, IList<UniqueId> uids)
    {
        var wanted = uids.Select(u => u.Id).ToHashSet();
        return summaries.Where(s => s.UniqueId.IsValid && wanted.Contains(s.UniqueId.Id)).DistinctBy(s => s.UniqueId.Id).OrderBy(s => s.UniqueId.Id);
    }

    // Reads FLAGS and MODSEQ of mails whose state is not known (or changed): another instance's marker makes the mail
    // claimed, a missing mail is gone; the others get a fresh MODSEQ for the next conditional STORE.
    private async Task ReadClaimStateAsync(IList<UniqueId> uids, Dictionary<uint, Exception?> results, CancellationToken cancellationToken)
    {
        if (uids.Count == 0)
        {
            return;
        }
        var found = Requested(await Inbox.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.ModSeq,
            cancellationToken).ConfigureAwait(false), uids).ToDictionary(s => s.UniqueId.Id);
        foreach (var uid in uids)
        {
            if (!found.TryGetValue(uid.Id, out var summary))
            {
                results[uid.Id] = new MailGoneException($"Mail {uid.Id} left {_options.Folder} before it was claimed.");
            }
            else if (!AdoptForeignClaims && summary.Keywords.FirstOrDefault(IsForeignMarker) is { } foreign)
            {
                results[uid.Id] = new MailClaimedException($"Mail {uid.Id} is claimed by another SmartMail instance ({foreign}).");
            }
            else
            {
                _listed[uid.Id] = (summary.ModSeq ?? 0, summary.Keywords.FirstOrDefault(IsOwnMarker));
            }
        }
    }

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
