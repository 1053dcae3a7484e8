using MailKit;
using MailKit.Net.Imap;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// One IMAP mailbox as a mail source and as the sink for its department folders: the work connection
/// (<see cref="ImapSession"/>) with the parts that each do one job on it: the source (<see cref="ImapSource"/>: list,
/// fetch, acknowledge), the folder sink (<see cref="ImapFolderSink"/>: MOVE to a department folder, recovery lookups),
/// the claims (<see cref="ImapClaims"/>: marker keywords, conditional STORE) and the folder cache
/// (<see cref="ImapFolderCache"/>). Connections are made by <see cref="ImapConnection"/> (time-out, TLS, credentials).
/// Before any delivery the mail is claimed: tagged with a marker keyword that names this instance
/// (<see cref="IInstanceMeta.InstanceId"/>) and the decision; with CONDSTORE only one of two instances can claim a mail.
/// Not thread-safe: one worker loop owns it (as <see cref="ImapClient"/> requires).
/// </summary>
public sealed class ImapMailbox : IMailSource, IMailSink, IDisposable
{
    /// <summary>The prefix of every SmartMail marker keyword.</summary>
    public const string MarkerPrefix = ImapClaims.MarkerPrefix;

    private readonly ImapSession _session;
    private readonly ImapFolderCache _folders;
    private readonly ImapClaims _claims;
    private readonly ImapSource _source;
    private readonly ImapFolderSink _sink;

    /// <summary>Creates the mailbox (not yet connected).</summary>
    /// <param name="options">Connection settings.</param>
    /// <param name="instanceId">This instance's id (<see cref="IInstanceMeta.InstanceId"/>): letters and digits, at most 8.</param>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is empty, too long or not letters and digits.</exception>
    /// <exception cref="MailboxConfigurationException">The CA certificate file cannot be read.</exception>
    public ImapMailbox(ImapMailboxOptions options, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        if (instanceId.Length > 8 || !instanceId.All(char.IsAsciiLetterOrDigit))
        {
            // Dovecot refuses keywords longer than 50 characters: "$SmartMail_" + 8 + "_" + a 27-character decision id is 47.
            throw new ArgumentException("An instance id is 1-8 ASCII letters and digits.", nameof(instanceId));
        }
        _session = new ImapSession(options);
        _folders = new ImapFolderCache(_session);
        _claims = new ImapClaims(_session, instanceId);
        _source = new ImapSource(_session, _claims, _folders);
        _sink = new ImapFolderSink(_session, _claims, _folders);
    }

    /// <inheritdoc />
    public string Mailbox => _session.Options.Name;

    /// <summary>The mailbox's settings.</summary>
    public ImapMailboxOptions Options => _session.Options;

    /// <summary>The watched folder's UIDVALIDITY in this session.</summary>
    public uint UidValidity => _session.UidValidity;

    /// <summary>Whether the server offers IDLE.</summary>
    public bool SupportsIdle => _session.Client.Capabilities.HasFlag(ImapCapabilities.Idle);

    /// <summary>Whether the server offers MOVE.</summary>
    public bool SupportsMove => _session.Client.Capabilities.HasFlag(ImapCapabilities.Move);

    /// <summary>
    /// Whether claims are atomic: the server offers CONDSTORE on the watched folder. Without it a claim is a plain STORE,
    /// and two instances on one mailbox can still both move a mail.
    /// </summary>
    public bool SupportsClaims => _session.SupportsModSequences;

    /// <summary>
    /// Whether mail another instance claimed (and left in the folder) is taken over: set by the lease holder once no
    /// command of a former holder can still be in flight. Without a lease, another instance's claim is always left to it.
    /// </summary>
    public bool AdoptForeignClaims
    {
        get => _claims.AdoptForeign;
        set => _claims.AdoptForeign = value;
    }

    /// <summary>Connects, authenticates and opens the watched folder read-write.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailboxConfigurationException">A setting is wrong (not transient: do not retry).</exception>
    /// <exception cref="MailKit.Security.AuthenticationException">The credentials were refused (not transient: do not retry).</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _session.ConnectAsync(cancellationToken).ConfigureAwait(false);
        _folders.Reset();
        _claims.Reset();
        _source.Reset();
    }

    /// <summary>A client for one more connection of a mailbox (IDLE, corrections, history): its time-out and trusted CA.</summary>
    /// <param name="options">The mailbox.</param>
    /// <returns>The client, not yet connected.</returns>
    /// <exception cref="MailboxConfigurationException">The CA certificate file cannot be read.</exception>
    internal static ImapClient NewClient(ImapMailboxOptions options) => ImapConnection.NewClient(options);

    /// <summary>Connects and authenticates <paramref name="client"/> as <paramref name="options"/> say.</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailboxConfigurationException">A setting is wrong (no password, an unreadable password file, plaintext not allowed).</exception>
    internal static Task ConnectClientAsync(ImapClient client, ImapMailboxOptions options, CancellationToken cancellationToken) =>
        ImapConnection.ConnectAsync(client, options, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// With CONDSTORE, mail another instance has claimed is not listed (that instance delivers it) unless
    /// <see cref="AdoptForeignClaims"/> is set.
    /// </remarks>
    public Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken) => _source.ListAsync(cancellationToken);

    /// <summary>The mails in the watched folder that the last <see cref="ListAsync"/> left out because another instance claimed them.</summary>
    public IReadOnlyList<MailKey> ClaimedByOthers => _source.ClaimedByOthers;

    /// <inheritdoc />
    public Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken) => _source.FetchAsync(key, cancellationToken);

    /// <summary>Fetches the bodies of several mails in one UID FETCH.</summary>
    /// <param name="keys">The mails.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Body per key; a key missing from the result is gone.</returns>
    public Task<Dictionary<MailKey, byte[]>> FetchManyAsync(IReadOnlyList<MailKey> keys, CancellationToken cancellationToken) =>
        _source.FetchManyAsync(keys, cancellationToken);

    /// <summary>The raw bodies of several messages of an open folder, in one UID FETCH.</summary>
    /// <param name="folder">The folder (opened).</param>
    /// <param name="uids">The messages.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Body per UID; a UID missing from the result is gone.</returns>
    internal static Task<Dictionary<uint, byte[]>> FetchBodiesAsync(IMailFolder folder, IList<UniqueId> uids, CancellationToken cancellationToken) =>
        ImapSource.FetchBodiesAsync(folder, uids, cancellationToken);

    /// <summary>
    /// Claims the mail (unless this session holds its claim already) and moves it to the destination folder. The marker is
    /// <see cref="Marker"/> of the decision id, so a crash is resolved without a ledger record of it.
    /// </summary>
    /// <param name="delivery">The delivery.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailGoneException">The mail left the folder before it was delivered.</exception>
    /// <exception cref="MailClaimedException">Another instance claimed the mail.</exception>
    public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken) => _sink.DeliverAsync(delivery, cancellationToken);

    /// <summary>
    /// Claims a batch of mails for this instance before anything is delivered (<see cref="ImapClaims.ClaimBatchAsync"/>): the
    /// markers are recorded in the ledger (one transaction) before they are set.
    /// </summary>
    /// <param name="deliveries">Mails of this mailbox, decided.</param>
    /// <param name="store">The ledger that records the markers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>
    /// Per delivery, <see langword="null"/> when this instance holds the claim, else a <see cref="MailClaimedException"/>,
    /// a <see cref="MailGoneException"/> or (a mail that kept changing) an <see cref="IOException"/>.
    /// </returns>
    public Task<IReadOnlyList<Exception?>> ClaimBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(store);
        return _claims.ClaimBatchAsync(deliveries, store, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Every destination: the mailbox moves its own mail to its folders.</remarks>
    public bool DeliversInBatches(string destination) => true;

    /// <inheritdoc />
    public int BatchMegabytes => Options.BatchMegabytes;

    /// <summary>Delivers a batch with one UID MOVE per destination (<see cref="ImapFolderSink.DeliverBatchAsync"/>).</summary>
    /// <param name="deliveries">Mails of this mailbox, decided.</param>
    /// <param name="store">The ledger that records the markers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Per delivery, <see langword="null"/> when delivered, else the failure.</returns>
    public Task<IReadOnlyList<Exception?>> DeliverBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(store);
        return _sink.DeliverBatchAsync(deliveries, store, cancellationToken);
    }

    /// <summary>Moves the mail out of the watched folder when it was delivered elsewhere; nothing when it was moved already.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken) => _source.AcknowledgeAsync(key, cancellationToken);

    /// <inheritdoc />
    public Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken) => _sink.IsDeliveredAsync(check, cancellationToken);

    /// <inheritdoc />
    public string PlaceOf(string destination) => _sink.PlaceOf(destination);

    /// <summary>The marker (claim) keyword this instance sets for a decision: <c>$SmartMail_INSTANCE_DECISIONID</c>.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The keyword.</returns>
    public string Marker(string decisionId) => _claims.Marker(decisionId);

    /// <summary>
    /// Whether <paramref name="keyword"/> is another instance's marker. Markers from before instance ids
    /// (<c>$SmartMail_sm-…</c>, when one instance per mailbox was the rule) count as this instance's.
    /// </summary>
    /// <param name="keyword">A keyword on a message.</param>
    /// <returns><see langword="true"/> for another instance's claim.</returns>
    public bool IsForeignMarker(string keyword) => _claims.IsForeignMarker(keyword);

    /// <summary>The folder for a destination name (created when missing), directly under the personal namespace.</summary>
    /// <param name="destination">The destination.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The folder.</returns>
    public Task<IMailFolder> FolderAsync(string destination, CancellationToken cancellationToken) => _folders.GetOrCreateAsync(destination, cancellationToken);

    /// <summary>Closes the connection politely.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public Task DisconnectAsync(CancellationToken cancellationToken) => _session.DisconnectAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
