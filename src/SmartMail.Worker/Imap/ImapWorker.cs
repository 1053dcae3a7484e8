using MailKit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Watches one IMAP mailbox. A work connection drains the folder through the <see cref="MailProcessor"/>; a second
/// connection IDLEs (re-issued every <see cref="ImapMailboxOptions.IdleRestart"/>) and wakes the work loop when mail
/// arrives; without IDLE the folder is polled. Transient failures reconnect with capped, jittered backoff; refused
/// credentials stop this mailbox loudly; a state store that cannot record stops the service (fail closed). Each round is
/// the <see cref="MailboxCycle"/> the one-shot <c>smartmail run</c> makes once: lease, connect, reconcile, drain.
/// </summary>
public sealed class ImapWorker(
    ImapMailboxOptions options,
    Func<ImapMailbox, MailProcessor> processorFor,
    IStateStore store,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ImapWorker> logger,
    Health.WorkerHealth? health = null,
    ModelProvider? models = null) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private bool _warnedNoCondStore;

    /// <summary>Mails handled since start (for tests and status).</summary>
    public int Handled { get; private set; }

    /// <summary>Whether the work connection is up.</summary>
    public bool IsConnected { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var cycle = new MailboxCycle(options, processorFor, store, time, logger);
        try
        {
            await WatchAsync(cycle, stoppingToken);
        }
        finally
        {
            // Work has stopped: give the lease up so a standby takes over at its next look.
            await cycle.ReleaseAsync();
        }
    }

    private async Task WatchAsync(MailboxCycle cycle, CancellationToken stoppingToken)
    {
        DateTimeOffset? connectedAt = null;
        for (var failures = 0; !stoppingToken.IsCancellationRequested;)
        {
            // A connection that stayed up for a while clears the count; one the server drops at once (a BYE right after the
            // greeting or the login, a throttled server) does not, so the waits grow and never become a tight loop.
            if (connectedAt is { } since && time.GetUtcNow() - since >= StableAfter)
            {
                failures = 0;
            }
            connectedAt = null;
            ImapMailbox? mailbox = null;
            Task? idle = null;
            CancellationTokenSource? work = null;
            CancellationTokenSource? idleStop = null;
            var held = false; // whether this round got as far as holding the lease (a failure before that is an outage, not a lost lease)
            try
            {
                await AcquireAsync(cycle, stoppingToken);
                held = true;
                // All work on the folder stops when the lease is lost or runs out.
                work = cycle.Fenced(stoppingToken);
                idleStop = CancellationTokenSource.CreateLinkedTokenSource(work.Token);
                var token = work.Token;
                mailbox = cycle.NewMailbox();
                var processor = await cycle.ConnectAsync(mailbox, connected =>
                {
                    IsConnected = true;
                    connectedAt = time.GetUtcNow();
                    health?.Working(options.Name, time.GetUtcNow());
                    ImapLog.Connected(logger, options.Name, connected.UidValidity, connected.SupportsIdle, connected.SupportsMove);
                    if (!connected.SupportsClaims && !_warnedNoCondStore)
                    {
                        _warnedNoCondStore = true;
                        ImapLog.NoCondStore(logger, options.Name);
                    }
                }, token);
                if (options.UseIdle && mailbox.SupportsIdle)
                {
                    idle = IdleAsync(idleStop.Token);
                }
                while (!token.IsCancellationRequested)
                {
                    models?.RefreshIfChanged();
                    var drained = (await cycle.DrainAsync(mailbox, processor, token)).Count;
                    Handled += drained;
                    ImapLog.Drained(logger, options.Name, drained);
                    if (idle is { IsCompleted: true })
                    {
                        await idle; // surfaces the IDLE connection's failure: reconnect both
                    }
                    await _wake.WaitAsync(options.PollInterval, token);
                }
            }
            catch (Exception ex) when (MailboxCycle.Classify(ex, stoppingToken.IsCancellationRequested, out var hint) is var failure and not MailboxFailure.Unexpected)
            {
                switch (failure)
                {
                    case MailboxFailure.Configuration:
                        var setting = ((MailboxConfigurationException)ex).Setting;
                        ImapLog.ConfigurationInvalid(logger, options.Name, setting ?? "?", ex.Message);
                        health?.Stopped(options.Name, $"configuration error in setting {setting}", time.GetUtcNow());
                        return; // not transient: retrying cannot fix a setting; other mailboxes go on
                    case MailboxFailure.Throttled:
                        // The server (or the token authority) is throttling: stay away as long as it asks, or exponentially longer.
                        failures++;
                        var wait = ServerThrottle.Wait(hint, failures, Random.Shared.NextDouble());
                        ImapLog.Throttled(logger, options.Name, failures, wait, hint is not null, ex.GetType().Name);
                        health?.Reconnecting(options.Name, $"the server is throttling; next connection in {wait:g} (refusal {failures})", time.GetUtcNow());
                        await DisconnectedAsync(idleStop);
                        await Task.Delay(wait, time, stoppingToken);
                        break;
                    case MailboxFailure.SignInRefused:
                        ImapLog.SignInRefused(logger, options.Name, ex.Message);
                        health?.Stopped(options.Name, "the OAuth2 sign-in was refused (see the log)", time.GetUtcNow());
                        return; // not transient: a retry storm would get the app throttled; other mailboxes go on
                    case MailboxFailure.CredentialsRefused:
                        ImapLog.AuthenticationFailed(logger, options.Name, ex);
                        health?.Stopped(options.Name, "the server refused the credentials", time.GetUtcNow());
                        return; // not transient: retrying would lock the account; other mailboxes go on
                    case MailboxFailure.LeaseUnavailable:
                        ImapLog.LeaseUnavailable(logger, options.Name, ex);
                        health?.Stopped(options.Name, "the lease folder cannot be created (see the log)", time.GetUtcNow());
                        return;
                    case MailboxFailure.LedgerFailed:
                        Log.StateStoreFailed(logger, ex);
                        health?.LedgerFailed(ex.GetType().Name);
                        Environment.ExitCode = 1;
                        lifetime.StopApplication();
                        return;
                    case MailboxFailure.InvariantBroken:
                        // A broken invariant is a bug, not an outage: stop loudly rather than reconnect into it again and again.
                        Log.InvariantBroken(logger, options.Name, ex);
                        health?.Stopped(options.Name, "a ledger invariant broke (see the log)", time.GetUtcNow());
                        Environment.ExitCode = 1;
                        lifetime.StopApplication();
                        return;
                    case MailboxFailure.Stopped:
                        return;
                    case MailboxFailure.Transient when held && !cycle.IsHeld && !stoppingToken.IsCancellationRequested:
                        // The lease was lost mid-work (the cancelled command may have been cut off: the reconciler sorts it out when
                        // this instance holds the lease again). Stand by.
                        IsConnected = false;
                        await cycle.ThrowIfRenewalsFailedAsync(); // a ledger that cannot record the lease stops the service like any other
                        break;
                    case MailboxFailure.Transient:
                        failures++;
                        var delay = Backoff(failures);
                        if (Auth.SignInFailure.Transient(ex) is { } problem)
                        {
                            ImapLog.SignInNotNow(logger, options.Name, failures, delay, problem); // one line, no stack trace: the party at fault is named
                        }
                        else
                        {
                            ImapLog.ConnectionLost(logger, options.Name, failures, delay, ex);
                        }
                        health?.Reconnecting(options.Name, $"reconnecting after {ex.GetType().Name} (failure {failures})", time.GetUtcNow());
                        await DisconnectedAsync(idleStop);
                        await Task.Delay(delay, time, stoppingToken);
                        break;
                    default:
                        throw; // Unexpected: filtered out above
                }
            }
            finally
            {
                IsConnected = false;
                mailbox?.Dispose();
                if (idleStop is not null)
                {
                    await idleStop.CancelAsync();
                }
                if (idle is not null)
                {
                    try
                    {
                        await idle;
                    }
                    catch (Exception ex) when (ex is OperationCanceledException || MailboxCycle.IsTransient(ex))
                    {
                        // the work loop reconnects
                    }
                }
                idleStop?.Dispose();
                work?.Dispose();
            }
        }
    }

    // Marks the work connection down and ends the IDLE connection before the wait for the next round.
    private async Task DisconnectedAsync(CancellationTokenSource? idleStop)
    {
        IsConnected = false;
        if (idleStop is not null)
        {
            await idleStop.CancelAsync();
        }
    }

    private async Task AcquireAsync(MailboxCycle cycle, CancellationToken stoppingToken)
    {
        var told = false;
        await cycle.AcquireAsync(generation =>
        {
            health?.Standby(options.Name, $"standing by: another instance holds the lease (generation {generation})", time.GetUtcNow());
            if (!told)
            {
                told = true;
                ImapLog.StandingBy(logger, options.Name, generation);
            }
        }, stoppingToken);
    }

    private async Task IdleAsync(CancellationToken cancellationToken)
    {
        try
        {
            await IdleLoopAsync(cancellationToken);
        }
        finally
        {
            // A lost IDLE connection (timed out, dropped by a restarting server) must not go unnoticed until the next
            // poll: the work loop wakes, finds the IDLE task ended and reconnects both connections.
            Wake();
        }
    }

    private async Task IdleLoopAsync(CancellationToken cancellationToken)
    {
        using var client = ImapConnection.NewClient(options);
        await ImapConnection.ConnectAsync(client, options, cancellationToken);
        var folder = await client.GetFolderAsync(options.Folder, cancellationToken);
        await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        CancellationTokenSource? done = null;
        ImapLog.Idling(logger, options.Name, folder.Count);
        folder.CountChanged += (_, _) =>
        {
            ImapLog.CountChanged(logger, options.Name, folder.Count);
            // Never touch the folder from the event (not re-entrant): end IDLE and wake the work loop.
            Wake();
            done?.Cancel();
        };
        while (!cancellationToken.IsCancellationRequested)
        {
            using (done = new CancellationTokenSource(options.IdleRestart))
            using (var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // MailKit waits for the server without a time-out while idling (and for the answer to DONE): on a link that
                // died silently (a NAT or firewall dropped it, a partition) it would wait for ever. One IDLE must end within
                // CommandTimeout of its planned end, or the connection is taken for dead.
                watchdog.CancelAfter(options.IdleRestart + options.CommandTimeout);
                try
                {
                    await client.IdleAsync(done.Token, watchdog.Token);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"Mailbox '{options.Name}': IDLE did not end within {options.CommandTimeout} of DONE; the connection is dead.", ex);
                }
            }
            done = null;
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // already awake
        }
    }

    /// <summary>A connection up at least this long clears the failure count when it is lost.</summary>
    internal static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(1);

    private static TimeSpan Backoff(int failures) =>
        TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Min(failures, 9)) * 0.25) + (Random.Shared.NextDouble() * 0.5));

    /// <inheritdoc />
    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}

internal static partial class ImapLog
{
    [LoggerMessage(EventId = SmartMailEventId.ImapConnected, Level = LogLevel.Information, Message = "Mailbox {Mailbox} connected (UIDVALIDITY {UidValidity}, IDLE {Idle}, MOVE {Move})")]
    public static partial void Connected(ILogger logger, string mailbox, uint uidValidity, bool idle, bool move);

    [LoggerMessage(EventId = SmartMailEventId.ImapAuthenticationFailed, Level = LogLevel.Critical, Message = "Mailbox {Mailbox}: the server refused the credentials; this mailbox stops (fix the password and restart)")]
    public static partial void AuthenticationFailed(ILogger logger, string mailbox, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.ImapIdling, Level = LogLevel.Debug, Message = "Mailbox {Mailbox}: IDLE on a folder of {Count} messages")]
    public static partial void Idling(ILogger logger, string mailbox, int count);

    [LoggerMessage(EventId = SmartMailEventId.ImapCountChanged, Level = LogLevel.Debug, Message = "Mailbox {Mailbox}: the folder now holds {Count} messages")]
    public static partial void CountChanged(ILogger logger, string mailbox, int count);

    [LoggerMessage(EventId = SmartMailEventId.ImapDrained, Level = LogLevel.Debug, Message = "Mailbox {Mailbox}: handled {Count} mails")]
    public static partial void Drained(ILogger logger, string mailbox, int count);

    [LoggerMessage(EventId = SmartMailEventId.ImapNoCondStore, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: the server does not offer CONDSTORE, so claims are not atomic: only the lease keeps a second instance off this mailbox (keep UseLease=true, or run exactly one instance)")]
    public static partial void NoCondStore(ILogger logger, string mailbox);

    [LoggerMessage(EventId = SmartMailEventId.ImapStandingBy, Level = LogLevel.Information, Message = "Mailbox {Mailbox}: another instance holds the lease (generation {Generation}); this instance stands by and takes over if that one stops renewing")]
    public static partial void StandingBy(ILogger logger, string mailbox, long generation);

    [LoggerMessage(EventId = SmartMailEventId.ImapLeaseUnavailable, Level = LogLevel.Critical, Message = "Mailbox {Mailbox}: no lease can be kept; this mailbox stops")]
    public static partial void LeaseUnavailable(ILogger logger, string mailbox, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.ImapSignInRefused, Level = LogLevel.Critical, Message = "Mailbox {Mailbox}: sign-in refused; this mailbox stops (fix it and restart): {Problem}")]
    public static partial void SignInRefused(ILogger logger, string mailbox, string problem);

    [LoggerMessage(EventId = SmartMailEventId.ImapConfigurationInvalid, Level = LogLevel.Critical, Message = "Mailbox {Mailbox}: configuration error in setting {Setting}; this mailbox stops (fix the setting and restart): {Problem}")]
    public static partial void ConfigurationInvalid(ILogger logger, string mailbox, string setting, string problem);

    [LoggerMessage(EventId = SmartMailEventId.ImapThrottled, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: the server is throttling (refusal {Refusals}, {Error}, time hint {WithHint}); next connection in {Delay}")]
    public static partial void Throttled(ILogger logger, string mailbox, int refusals, TimeSpan delay, bool withHint, string error);

    [LoggerMessage(EventId = SmartMailEventId.ImapSignInNotNow, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: cannot sign in now (failure {Failures}): {Problem} Next attempt in {Delay}")]
    public static partial void SignInNotNow(ILogger logger, string mailbox, int failures, TimeSpan delay, string problem);

    [LoggerMessage(EventId = SmartMailEventId.ImapConnectionLost, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: connection lost (failure {Failures}); reconnecting in {Delay}")]
    public static partial void ConnectionLost(ILogger logger, string mailbox, int failures, TimeSpan delay, Exception exception);
}
