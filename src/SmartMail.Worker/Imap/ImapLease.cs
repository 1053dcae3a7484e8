using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The lease on one watched folder, held through the IMAP server itself, so that it binds instances with separate ledgers
/// on separate machines: only the holder works the folder, any other instance stands by and takes over when the holder
/// stops renewing.
/// </summary>
/// <remarks>
/// <para>
/// The lease is one token folder under <see cref="ImapMailboxOptions.LeaseFolder"/>, named <c>FOLDER-LINEAGE-0000000042</c>
/// while held (the number is its generation; the lineage is random, made with the first token) and
/// <c>FOLDER-LINEAGE-0000000042-free</c> once given up. A RENAME of one folder succeeds for
/// one session only (the server's <c>rename(2)</c>; the others find the name gone), so renaming generation n to n+1 is a
/// compare-and-swap: the holder renews by renaming its token to the next generation, a standby that has seen no new
/// generation for <see cref="ImapMailboxOptions.LeaseDuration"/> takes over by renaming it, and a holder that finds its token
/// gone has lost the lease. (CREATE is no such lock: four sessions creating one name concurrently all get OK from Dovecot.
/// Nor is a per-mail conditional STORE: Dovecot checks UNCHANGEDSINCE against the session's own view of the folder, not
/// under its log lock. Both measured; docs/reliability.md.)
/// </para>
/// <para>
/// The first token is made by CREATE when none exists. Because CREATE is not exclusive, several may appear, or a late
/// CREATE can make a stray free token of generation 0 next to a lineage that has moved on: whoever sees more than one
/// token deletes the free generation-0 ones (all but the first by name when there is nothing else), and an instance that
/// acquired and then finds another held token yields (deletes its token) before it works. The random lineage keeps a
/// generation number from meaning the same token twice.
/// </para>
/// <para>
/// The holder works only while <see cref="Fence"/> is not cancelled. It is cancelled <see cref="Validity"/> after the last
/// renewal was sent: LeaseDuration − CommandTimeout − one renewal period, so even a command sent at the last moment and
/// answered a whole time-out late is done before a standby, counting LeaseDuration from when it first saw that generation,
/// can take over. Only elapsed time on each machine is compared, never clocks.
/// </para>
/// <para>
/// The generation this instance created last is kept in its ledger, so a restarted instance resumes at once (nobody else
/// can have created that name). A renewal whose answer was lost is recognised the same way by time: nobody else can create
/// the next generation within LeaseDuration of this instance's last one.
/// </para>
/// </remarks>
public sealed partial class ImapLease : IDisposable
{
    private const string FreeSuffix = "-free";
    private readonly ImapMailboxOptions _options;
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _metaKey;
    private readonly string _prefix;
    private CancellationTokenSource _fence = new();
    private ImapClient? _client;
    private IMailFolder? _parent;
    private long _heldSentAt; // when the RENAME to the held generation was sent (timestamp)
    private string _lineage = "";
    private long _unsure;     // a generation this session renamed its token to without learning the answer
    // The renewals running on the lease's connection; acquiring and releasing wait for them to end (one connection, one user).
    private Task _renewals = Task.CompletedTask;
    private CancellationTokenSource? _stopRenewals;

    /// <summary>Creates the lease for <paramref name="options"/>' watched folder.</summary>
    /// <param name="options">The mailbox.</param>
    /// <param name="store">This instance's ledger (keeps the generation it created last).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public ImapLease(ImapMailboxOptions options, IStateStore store, TimeProvider time, ILogger logger)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metaKey = "lease:" + options.Name;
        _prefix = string.Concat(options.Folder.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_')) + "-";
        _fence.Cancel();
    }

    /// <summary>How often the holder renews and a standby looks: a sixth of the lease duration.</summary>
    public TimeSpan RenewEvery => _options.LeaseDuration / 6;

    /// <summary>How long after a renewal was sent the holder may work without another.</summary>
    public TimeSpan Validity => _options.LeaseDuration - _options.CommandTimeout - RenewEvery;

    /// <summary>The generation this instance holds, or 0.</summary>
    public long Generation { get; private set; }

    /// <summary>Whether this instance holds the lease now.</summary>
    public bool IsHeld => Generation != 0 && !_fence.IsCancellationRequested;

    /// <summary>Cancelled when the lease is lost or runs out: all work on the folder stops with it.</summary>
    public CancellationToken Fence => _fence.Token;

    /// <summary>How long this instance has held the lease without a break (zero when it does not hold it).</summary>
    public TimeSpan HeldFor => IsHeld ? _time.GetElapsedTime(_heldSince) : TimeSpan.Zero;

    private long _heldSince;

    /// <summary>
    /// Returns when this instance holds the lease (at once if it does): it takes a free lease, resumes its own, or, while
    /// another instance holds it, looks every <see cref="RenewEvery"/> and takes over when that instance has not renewed for
    /// <see cref="ImapMailboxOptions.LeaseDuration"/>.
    /// </summary>
    /// <param name="standingBy">Told at each look that another instance holds the lease (the generation it holds).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task.</returns>
    /// <exception cref="LeaseUnavailableException">The server does not let this user create the lease folders.</exception>
    public async Task AcquireAsync(Action<long> standingBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(standingBy);
        await AcquireCoreAsync(standingBy, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the lease if nobody else holds it (one look, for a one-shot run); never waits for another holder.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when this instance now holds the lease.</returns>
    /// <exception cref="LeaseUnavailableException">The server does not let this user create the lease folders.</exception>
    public Task<bool> TryAcquireAsync(CancellationToken cancellationToken) => AcquireCoreAsync(null, cancellationToken);

    private async Task<bool> AcquireCoreAsync(Action<long>? standingBy, CancellationToken cancellationToken)
    {
        if (!IsHeld && !_renewals.IsCompleted)
        {
            await RenewalsEndedAsync().ConfigureAwait(false); // lost: they end after their current round
        }
        (string Lineage, long Generation, bool Free) seen = ("", -1, false);
        var seenAt = _time.GetTimestamp();
        while (!IsHeld)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tokens = await TokensAsync(cancellationToken).ConfigureAwait(false);
            if (tokens.Count == 0)
            {
                await CreateFirstTokenAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (tokens.Count > 1)
            {
                // Stray first tokens: keep one only when there is nothing else.
                var strays = tokens.Where(t => t.Generation == 0 && t.Free).OrderBy(t => t.Folder.Name, StringComparer.Ordinal).ToList();
                foreach (var stray in strays.Count == tokens.Count ? strays.Skip(1) : strays)
                {
                    await DeleteQuietlyAsync(stray.Folder, cancellationToken).ConfigureAwait(false);
                }
                if (strays.Count > 0)
                {
                    continue;
                }
            }
            var current = tokens.MaxBy(t => t.Generation)!;
            if ((current.Lineage, current.Generation, current.Free) != seen)
            {
                (seen, seenAt) = ((current.Lineage, current.Generation, current.Free), _time.GetTimestamp());
            }
            var how = current.Free ? "free" : IsOwn(current) ? "its own" : _time.GetElapsedTime(seenAt) >= _options.LeaseDuration ? "expired" : null;
            if (how is null)
            {
                if (standingBy is null)
                {
                    return false;
                }
                standingBy(current.Generation);
                await Task.Delay(RenewEvery, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            _heldSince = _time.GetTimestamp();
            if (await TryAdvanceAsync(current, cancellationToken).ConfigureAwait(false) && await NoOtherHolderAsync(cancellationToken).ConfigureAwait(false))
            {
                LeaseLog.Acquired(_logger, _options.Name, Generation, how);
                return true;
            }
        }
        return true;
    }

    /// <summary>
    /// Renews the lease every <see cref="RenewEvery"/> until it is lost (another instance took it, or renewals failed until
    /// it ran out: <see cref="Fence"/> is then cancelled) or <paramref name="cancellationToken"/> ends.
    /// </summary>
    /// <param name="cancellationToken">Stops renewing (the lease then runs out by itself, or is released).</param>
    /// <returns>A task that ends when the lease is lost or released.</returns>
    public Task KeepAsync(CancellationToken cancellationToken)
    {
        _stopRenewals?.Dispose();
        _stopRenewals = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return _renewals = RenewAsync(_stopRenewals.Token);
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        var fence = Fence;
        while (!fence.IsCancellationRequested)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, fence))
            {
                try
                {
                    await Task.Delay(RenewEvery, _time, wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (fence.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }
            try
            {
                var own = (await TokensAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(IsHeldToken);
                if (own is null || !await TryAdvanceAsync(own, cancellationToken).ConfigureAwait(false))
                {
                    LeaseLog.Lost(_logger, _options.Name, Generation, "its token was gone (another instance took over) or renewed too late");
                    Lose();
                }
            }
            catch (Exception ex) when (MailboxCycle.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                // A sign-in that cannot happen now (authority or token check down) is one line; anything else keeps its trace.
                var signIn = Auth.SignInFailure.Transient(ex);
                LeaseLog.RenewFailed(_logger, _options.Name, Generation, signIn ?? ex.GetType().Name, signIn is null ? ex : null);
                DropConnection(); // the next round reconnects; the fence ends the work if renewals keep failing
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LeaseLog.Lost(_logger, _options.Name, Generation, $"renewing failed ({ex.GetType().Name}: {ex.Message})");
                Lose();
                throw;
            }
        }
        if (Generation != 0)
        {
            LeaseLog.Lost(_logger, _options.Name, Generation, "it was not renewed in time");
            Lose();
        }
    }

    /// <summary>
    /// Gives the lease up after work has stopped (a planned stop or upgrade), so a standby takes over at its next look
    /// instead of after <see cref="ImapMailboxOptions.LeaseDuration"/>: the renewals stop, then the token is renamed to its
    /// free name.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (!_renewals.IsCompleted)
        {
            await _stopRenewals!.CancelAsync().ConfigureAwait(false);
            await RenewalsEndedAsync().ConfigureAwait(false);
        }
        if (!IsHeld)
        {
            return;
        }
        var held = Generation;
        Lose();
        try
        {
            var parent = await ParentAsync(cancellationToken).ConfigureAwait(false);
            var own = (await TokensAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(t => t.Lineage == _lineage && t.Generation == held && !t.Free);
            if (own is not null)
            {
                await own.Folder.RenameAsync(parent, Name(_lineage, held, free: true), cancellationToken).ConfigureAwait(false);
                LeaseLog.Released(_logger, _options.Name, held);
            }
        }
        catch (Exception ex) when (MailboxCycle.IsTransient(ex) || ex is FolderNotFoundException)
        {
            LeaseLog.RenewFailed(_logger, _options.Name, held, ex.GetType().Name, ex); // it runs out by itself
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stopRenewals?.Dispose();
        _fence.Dispose();
        _client?.Dispose();
    }

    private bool IsOwn(Token token) =>
        token.Key == _store.GetMeta(_metaKey)
        || (token.Lineage == _lineage && token.Generation == _unsure && _time.GetElapsedTime(_heldSentAt) < _options.LeaseDuration - _options.CommandTimeout);

    // Their outcome is the caller's of KeepAsync to observe; here only that they no longer use the connection.
    private Task RenewalsEndedAsync() =>
        _renewals.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    private bool IsHeldToken(Token token) => token.Lineage == _lineage && token.Generation == Generation && !token.Free;

    private void Lose()
    {
        Generation = 0;
        _fence.Cancel();
    }

    // RENAME of a token to the next generation: true when this session did it (it now holds the lease), false when the
    // token was gone (another instance advanced it first).
    private async Task<bool> TryAdvanceAsync(Token token, CancellationToken cancellationToken)
    {
        var parent = await ParentAsync(cancellationToken).ConfigureAwait(false);
        var next = token.Generation + 1;
        var sent = _time.GetTimestamp();
        var earlier = _unsure; // an earlier RENAME to this generation whose answer was lost?
        _unsure = next;
        try
        {
            await token.Folder.RenameAsync(parent, Name(token.Lineage, next, free: false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FolderNotFoundException || (ex is ImapCommandException { Response: ImapCommandResponse.No }))
        {
            // The token was gone: another instance advanced it, or an earlier RENAME of this instance whose answer was lost
            // did (then IsOwn recognises the newer token by time, and the next acquisition resumes it).
            _unsure = earlier;
            if (ex is ImapCommandException refused && (await TokensAsync(cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                throw new LeaseUnavailableException(
                    $"Mailbox '{_options.Name}': the server refused to rename the lease folder '{token.Folder.FullName}' ({refused.ResponseText}). " +
                    "Let this user create and rename folders there, choose another LeaseFolder, or set UseLease=false and run exactly one instance on this mailbox.", ex);
            }
            return false;
        }
        _unsure = 0;
        _store.SetMeta(_metaKey, Token.KeyOf(token.Lineage, next));
        _lineage = token.Lineage;
        if (Generation == 0)
        {
            _fence.Dispose();
            _fence = new CancellationTokenSource();
        }
        Generation = next;
        _heldSentAt = sent;
        var left = Validity - _time.GetElapsedTime(sent);
        if (left <= TimeSpan.Zero)
        {
            Lose();
            return false;
        }
        _fence.CancelAfter(left);
        return true;
    }

    // After acquiring, before any work: another held token means a second lineage (from a stray first token); yield.
    private async Task<bool> NoOtherHolderAsync(CancellationToken cancellationToken)
    {
        var tokens = await TokensAsync(cancellationToken).ConfigureAwait(false);
        foreach (var stray in tokens.Where(t => t.Generation == 0 && t.Free))
        {
            await DeleteQuietlyAsync(stray.Folder, cancellationToken).ConfigureAwait(false);
        }
        if (!tokens.Any(t => !(t.Generation == 0 && t.Free) && !IsHeldToken(t)))
        {
            return true;
        }
        var own = tokens.FirstOrDefault(IsHeldToken);
        LeaseLog.Lost(_logger, _options.Name, Generation, "another lease token exists; yielding");
        Lose();
        if (own is not null)
        {
            await DeleteQuietlyAsync(own.Folder, cancellationToken).ConfigureAwait(false);
        }
        await Task.Delay(RenewEvery * (1 + Random.Shared.NextDouble()), _time, cancellationToken).ConfigureAwait(false);
        return false;
    }

    private async Task CreateFirstTokenAsync(CancellationToken cancellationToken)
    {
        var parent = await ParentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await parent.CreateAsync(Name(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)), 0, free: true), true, cancellationToken).ConfigureAwait(false);
        }
        catch (ImapCommandException ex) when (ex.Response == ImapCommandResponse.No)
        {
            if ((await TokensAsync(cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                throw new LeaseUnavailableException(
                    $"Mailbox '{_options.Name}': the server refused to create the lease folder '{parent.FullName}{parent.DirectorySeparator}{_prefix}…' " +
                    $"({ex.ResponseText}). Let this user create folders there, choose another LeaseFolder, or set UseLease=false and run exactly one instance on this mailbox.", ex);
            }
        }
    }

    private static async Task DeleteQuietlyAsync(IMailFolder folder, CancellationToken cancellationToken)
    {
        try
        {
            await folder.DeleteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FolderNotFoundException or ImapCommandException)
        {
            // already gone
        }
    }

    private async Task<List<Token>> TokensAsync(CancellationToken cancellationToken)
    {
        var parent = await ParentAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<Token>();
        foreach (var folder in await parent.GetSubfoldersAsync(false, cancellationToken).ConfigureAwait(false))
        {
            var name = folder.Name.AsSpan();
            if (!name.StartsWith(_prefix, StringComparison.Ordinal))
            {
                continue;
            }
            name = name[_prefix.Length..];
            if (name.Length < 10 || name[8] != '-')
            {
                continue;
            }
            var lineage = name[..8].ToString();
            name = name[9..];
            var free = name.EndsWith(FreeSuffix, StringComparison.Ordinal);
            if (free)
            {
                name = name[..^FreeSuffix.Length];
            }
            if (name.Length == 10 && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
            {
                result.Add(new Token(lineage, generation, free, folder));
            }
        }
        return result;
    }

    private string Name(string lineage, long generation, bool free) =>
        $"{_prefix}{lineage}-{generation.ToString("D10", CultureInfo.InvariantCulture)}{(free ? FreeSuffix : "")}";

    private sealed record Token(string Lineage, long Generation, bool Free, IMailFolder Folder)
    {
        public string Key => KeyOf(Lineage, Generation);

        public static string KeyOf(string lineage, long generation) => $"{lineage}-{generation.ToString(CultureInfo.InvariantCulture)}";
    }

    private async Task<IMailFolder> ParentAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true, IsAuthenticated: true } && _parent is not null)
        {
            return _parent;
        }
        DropConnection();
        var client = ImapMailbox.NewClient(_options);
        try
        {
            await ImapMailbox.ConnectClientAsync(client, _options, cancellationToken).ConfigureAwait(false);
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            IMailFolder? parent = null;
            try
            {
                parent = await root.GetSubfolderAsync(_options.LeaseFolder, cancellationToken).ConfigureAwait(false);
            }
            catch (FolderNotFoundException)
            {
            }
            if (parent is not { Exists: true })
            {
                try
                {
                    parent = await root.CreateAsync(_options.LeaseFolder, true, cancellationToken).ConfigureAwait(false);
                }
                catch (ImapCommandException)
                {
                    parent = await root.GetSubfolderAsync(_options.LeaseFolder, cancellationToken).ConfigureAwait(false); // another instance made it
                }
            }
            (_client, _parent) = (client, parent ?? throw new LeaseUnavailableException($"Mailbox '{_options.Name}': the lease folder '{_options.LeaseFolder}' cannot be created."));
            return _parent;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private void DropConnection()
    {
        _client?.Dispose();
        (_client, _parent) = (null, null);
    }

    private static partial class LeaseLog
    {
        [LoggerMessage(EventId = SmartMailEventId.LeaseAcquired, Level = LogLevel.Information, Message = "Mailbox {Mailbox}: this instance holds the lease (generation {Generation}; the lease was {How})")]
        public static partial void Acquired(ILogger logger, string mailbox, long generation, string how);

        [LoggerMessage(EventId = SmartMailEventId.LeaseLost, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: lease lost (generation {Generation}): {Why}; work stops and this instance stands by")]
        public static partial void Lost(ILogger logger, string mailbox, long generation, string why);

        [LoggerMessage(EventId = SmartMailEventId.LeaseRenewFailed, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: renewing the lease (generation {Generation}) failed ({Error}); retrying")]
        public static partial void RenewFailed(ILogger logger, string mailbox, long generation, string error, Exception? exception);

        [LoggerMessage(EventId = SmartMailEventId.LeaseReleased, Level = LogLevel.Information, Message = "Mailbox {Mailbox}: lease released (generation {Generation})")]
        public static partial void Released(ILogger logger, string mailbox, long generation);
    }
}

/// <summary>The server does not let this user keep a lease (it refuses to create the lease folders): a configuration error.</summary>
public sealed class LeaseUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LeaseUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the setting.</param>
    public LeaseUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the setting.</param>
    /// <param name="innerException">The server's refusal.</param>
    public LeaseUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
