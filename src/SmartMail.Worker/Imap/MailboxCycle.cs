using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// One IMAP mailbox's work cycle, the same for the service (<see cref="ImapWorker"/>: round after round, with IDLE and
/// backoff) and the one-shot <c>smartmail run</c> (once per mailbox): hold the lease (acquire, renew, release), connect,
/// reconcile what a crash left, drain the backlog; and what a failure means (<see cref="Classify"/>: transient, refused,
/// a broken invariant).
/// </summary>
/// <remarks>
/// The callers keep what differs: the service waits for the lease, reconnects and IDLEs; the one-shot run takes a free lease
/// only, drains once and reports failures with its exit codes.
/// </remarks>
public sealed class MailboxCycle : IDisposable
{
    private readonly ImapMailboxOptions _options;
    private readonly Func<ImapMailbox, MailProcessor> _processorFor;
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ImapLease? _lease;
    private Task _keep = Task.CompletedTask; // the lease's renewals while this instance holds it

    /// <summary>Creates the cycle of one mailbox (with its lease when <see cref="ImapMailboxOptions.UseLease"/> is set).</summary>
    /// <param name="options">The mailbox.</param>
    /// <param name="processorFor">Makes the processor for a connected mailbox.</param>
    /// <param name="store">The ledger.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The lease's logger.</param>
    public MailboxCycle(ImapMailboxOptions options, Func<ImapMailbox, MailProcessor> processorFor, IStateStore store, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _processorFor = processorFor;
        _store = store;
        _time = time;
        _lease = options.UseLease ? new ImapLease(options, store, time, logger) : null;
    }

    /// <summary>Whether this instance may work the mailbox: it holds the lease, or the mailbox has none.</summary>
    public bool IsHeld => _lease is null or { IsHeld: true };

    /// <summary>
    /// Returns when this instance holds the lease (at once if it does or the mailbox has none), then keeps renewing it. A
    /// failure of the last holding's renewals (a ledger that cannot record them) is thrown first.
    /// </summary>
    /// <param name="standingBy">Told at each look that another instance holds the lease (the generation it holds).</param>
    /// <param name="cancellationToken">Cancels the wait and, later, the renewals.</param>
    /// <returns>A task.</returns>
    /// <exception cref="LeaseUnavailableException">The server does not let this user create the lease folders.</exception>
    public async Task AcquireAsync(Action<long> standingBy, CancellationToken cancellationToken)
    {
        if (_lease is not { IsHeld: false })
        {
            return;
        }
        await _keep.ConfigureAwait(false);
        await _lease.AcquireAsync(standingBy, cancellationToken).ConfigureAwait(false);
        _keep = _lease.KeepAsync(cancellationToken);
    }

    /// <summary>Takes the lease if nobody else holds it (one look, for a one-shot run), then keeps renewing it until <see cref="ReleaseAsync"/>.</summary>
    /// <param name="cancellationToken">Cancels the call and, later, the renewals.</param>
    /// <returns><see langword="true"/> when this instance may now work the mailbox.</returns>
    /// <exception cref="LeaseUnavailableException">The server does not let this user create the lease folders.</exception>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        if (_lease is null)
        {
            return true;
        }
        if (!await _lease.TryAcquireAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _keep = _lease.KeepAsync(cancellationToken); // ReleaseAsync stops these renewals and waits for them
        return true;
    }

    /// <summary>Throws the failure of the lease's renewals, if they failed (a ledger that cannot record the lease).</summary>
    /// <returns>A task.</returns>
    public async Task ThrowIfRenewalsFailedAsync()
    {
        if (_keep.IsFaulted)
        {
            await _keep.ConfigureAwait(false);
        }
    }

    /// <summary>Gives the lease up after work has stopped, so a standby takes over at its next look (within <see cref="ImapMailboxOptions.CommandTimeout"/>).</summary>
    /// <returns>A task.</returns>
    public async Task ReleaseAsync()
    {
        if (_lease is null)
        {
            return;
        }
        using var release = new CancellationTokenSource(_options.CommandTimeout);
        await _lease.ReleaseAsync(release.Token).ConfigureAwait(false);
    }

    /// <summary>A token for work on the folder: cancelled by <paramref name="cancellationToken"/>, or when the lease is lost or runs out.</summary>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>The source (the caller disposes it).</returns>
    public CancellationTokenSource Fenced(CancellationToken cancellationToken) =>
        CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lease?.Fence ?? CancellationToken.None);

    /// <summary>The work connection, not yet connected.</summary>
    /// <returns>The mailbox (the caller disposes it).</returns>
    public ImapMailbox NewMailbox() => new(_options, _store.InstanceId);

    /// <summary>Connects <paramref name="mailbox"/>, makes its processor and reconciles what a crash left.</summary>
    /// <param name="mailbox">The mailbox from <see cref="NewMailbox"/>.</param>
    /// <param name="connected">Told when the connection is up, before reconciling.</param>
    /// <param name="cancellationToken">The work token (<see cref="Fenced"/>).</param>
    /// <returns>The processor whose sink delivers to <paramref name="mailbox"/> and the routes.</returns>
    /// <exception cref="MailboxConfigurationException">A setting is wrong.</exception>
    /// <exception cref="AuthenticationException">The credentials were refused.</exception>
    public async Task<MailProcessor> ConnectAsync(ImapMailbox mailbox, Action<ImapMailbox>? connected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        await mailbox.ConnectAsync(cancellationToken).ConfigureAwait(false);
        connected?.Invoke(mailbox);
        // The processor first: its sink answers the reconciler per route (IMAP folder, journal, SMTP, webhook), and it
        // has the ledger mirror its audit rows to audit.jsonl before the reconciler writes any.
        var processor = _processorFor(mailbox);
        await ImapReconciler.ReconcileAsync(mailbox, _store, _time, cancellationToken, processor.Sink).ConfigureAwait(false);
        return processor;
    }

    /// <summary>Drains everything waiting in <paramref name="mailbox"/> once.</summary>
    /// <param name="mailbox">The connected mailbox.</param>
    /// <param name="processor">Its processor (from <see cref="ConnectAsync"/>).</param>
    /// <param name="cancellationToken">The work token (<see cref="Fenced"/>).</param>
    /// <returns>The outcome per mail.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public Task<IReadOnlyList<ProcessOutcome>> DrainAsync(ImapMailbox mailbox, MailProcessor processor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        // A claim another instance left behind is taken over once any command that instance sent before it lost the lease has
        // surely been answered.
        mailbox.AdoptForeignClaims = _lease is not null && _lease.HeldFor >= 2 * _options.CommandTimeout;
        return processor.DrainAsync(mailbox, _options.BatchSize, cancellationToken);
    }

    /// <summary>What <paramref name="ex"/>, ending a round of work on a mailbox, means for the next round.</summary>
    /// <param name="ex">The failure.</param>
    /// <param name="stopping">Whether the caller is stopping (a throttled server then needs no wait, a cancellation is the stop).</param>
    /// <param name="hint">The server's time hint when it is throttling and gave one.</param>
    /// <returns>The kind of failure.</returns>
    public static MailboxFailure Classify(Exception ex, bool stopping, out TimeSpan? hint)
    {
        hint = null;
        return ex switch
        {
            MailboxConfigurationException => MailboxFailure.Configuration,
            _ when !stopping && IsThrottling(ex, out hint) => MailboxFailure.Throttled,
            Auth.SignInRefusedException => MailboxFailure.SignInRefused,
            AuthenticationException => MailboxFailure.CredentialsRefused,
            LeaseUnavailableException => MailboxFailure.LeaseUnavailable,
            StateStoreException => MailboxFailure.LedgerFailed,
            IllegalTransitionException => MailboxFailure.InvariantBroken,
            OperationCanceledException when stopping => MailboxFailure.Stopped,
            _ when IsTransient(ex) => MailboxFailure.Transient,
            _ => MailboxFailure.Unexpected,
        };
    }

    /// <summary>Whether <paramref name="ex"/> says the server or the token authority is throttling (NO/BAD/BYE with a throttling
    /// text, HTTP 429 from the authority), and the wait it asked for.</summary>
    /// <param name="ex">The failure.</param>
    /// <param name="hint">The server's time hint, when it gave one.</param>
    /// <returns><see langword="true"/> when throttled.</returns>
    internal static bool IsThrottling(Exception ex, out TimeSpan? hint)
    {
        hint = null;
        if (ex is HttpRequestException { StatusCode: System.Net.HttpStatusCode.TooManyRequests })
        {
            return true;
        }
        return ex is AuthenticationException or ImapCommandException or ImapProtocolException or IOException && ServerThrottle.IsThrottled(ex, out hint);
    }

    /// <summary>Whether <paramref name="ex"/> is worth a reconnect (network, server, time-out) rather than a stop.</summary>
    /// <param name="ex">The failure.</param>
    /// <returns><see langword="true"/> when transient.</returns>
    /// <remarks>
    /// An <see cref="InvalidOperationException"/> is transient only when MailKit raised it about its connection (not connected,
    /// not authenticated, a folder closed under it, the client busy after a cut-off command). Ours mean a broken invariant
    /// (<see cref="IllegalTransitionException"/>, a refused action, the data directory in use): reconnecting cannot fix those,
    /// and a worker that retried them would loop on the bug.
    /// </remarks>
    internal static bool IsTransient(Exception ex) => ex switch
    {
        MailboxConfigurationException or IllegalTransitionException or StateStoreException => false,
        IOException or ImapProtocolException or ImapCommandException or System.Net.Sockets.SocketException or TimeoutException
            or SslHandshakeException or OperationCanceledException or HttpRequestException => true,
        ServiceNotConnectedException or ServiceNotAuthenticatedException or FolderNotOpenException => true,
        InvalidOperationException => ex.Source == typeof(ImapClient).Assembly.GetName().Name,
        _ => false,
    };

    /// <inheritdoc />
    public void Dispose() => _lease?.Dispose();
}

/// <summary>What a failure that ended a round of work on a mailbox means (<see cref="MailboxCycle.Classify"/>).</summary>
public enum MailboxFailure
{
    /// <summary>Not one the cycle knows: it goes up to the host.</summary>
    Unexpected,

    /// <summary>The network, the server or a time-out: reconnect with backoff.</summary>
    Transient,

    /// <summary>The server or the token authority is throttling: reconnect after the wait it asked for, or exponentially later.</summary>
    Throttled,

    /// <summary>The caller is stopping.</summary>
    Stopped,

    /// <summary>A setting is wrong: retrying cannot fix it; this mailbox stops.</summary>
    Configuration,

    /// <summary>The OAuth2 sign-in was refused: a retry storm would get the app throttled; this mailbox stops.</summary>
    SignInRefused,

    /// <summary>The server refused the credentials: retrying would lock the account; this mailbox stops.</summary>
    CredentialsRefused,

    /// <summary>The lease folder cannot be created: this mailbox stops.</summary>
    LeaseUnavailable,

    /// <summary>The ledger cannot record: the service stops (fail closed).</summary>
    LedgerFailed,

    /// <summary>A ledger invariant broke, a bug: the service stops rather than reconnect into it again and again.</summary>
    InvariantBroken,
}
