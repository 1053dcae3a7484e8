using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartMail.Worker.Health;

/// <summary>What each watcher last reported about itself; read by <see cref="SmartMailHealthCheck"/>.</summary>
public sealed class WorkerHealth
{
    private readonly ConcurrentDictionary<string, MailboxHealth> _mailboxes = new(StringComparer.Ordinal);

    /// <summary>The state of every watcher that has reported.</summary>
    public IReadOnlyDictionary<string, MailboxHealth> Mailboxes => _mailboxes;

    private readonly ConcurrentDictionary<string, DestinationHealth> _waiting = new(StringComparer.Ordinal);

    /// <summary>Destinations whose deliveries wait (SMTP relay or webhook down): their mail stays in its source.</summary>
    public IReadOnlyDictionary<string, DestinationHealth> WaitingDestinations => _waiting;

    /// <summary>Deliveries to <paramref name="destination"/> failed and wait for a retry.</summary>
    /// <param name="destination">The destination (a label's route, no personal data).</param>
    /// <param name="failures">Failures in a row.</param>
    /// <param name="retryAt">When it is tried again.</param>
    /// <param name="reason">The error's type.</param>
    public void DeliveryWaiting(string destination, int failures, DateTimeOffset retryAt, string reason) =>
        _waiting[destination] = new DestinationHealth(failures, retryAt, reason);

    /// <summary>A delivery to <paramref name="destination"/> went through again.</summary>
    /// <param name="destination">The destination.</param>
    public void DeliveryResumed(string destination) => _waiting.TryRemove(destination, out _);

    /// <summary>Set when the ledger could not record: the service has stopped taking mail.</summary>
    public string? LedgerFailure { get; private set; }

    /// <summary>A watcher is connected and working.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="now">The time.</param>
    public void Working(string mailbox, DateTimeOffset now) => _mailboxes[mailbox] = new MailboxHealth(HealthStatus.Healthy, "connected", now);

    /// <summary>A watcher stands by while another instance holds the mailbox's lease (healthy: that is its job).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="reason">What it waits for.</param>
    /// <param name="now">The time.</param>
    public void Standby(string mailbox, string reason, DateTimeOffset now) =>
        _mailboxes[mailbox] = new MailboxHealth(HealthStatus.Healthy, reason, now);

    /// <summary>A watcher lost its connection and is reconnecting.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="reason">Why (no personal data).</param>
    /// <param name="now">The time.</param>
    public void Reconnecting(string mailbox, string reason, DateTimeOffset now) =>
        _mailboxes[mailbox] = new MailboxHealth(HealthStatus.Degraded, reason, _mailboxes.GetValueOrDefault(mailbox)?.LastWorking ?? now);

    /// <summary>A watcher stopped for good (refused credentials).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="reason">Why.</param>
    /// <param name="now">The time.</param>
    public void Stopped(string mailbox, string reason, DateTimeOffset now) =>
        _mailboxes[mailbox] = new MailboxHealth(HealthStatus.Unhealthy, reason, _mailboxes.GetValueOrDefault(mailbox)?.LastWorking ?? now);

    /// <summary>The ledger failed.</summary>
    /// <param name="reason">Why.</param>
    public void LedgerFailed(string reason) => LedgerFailure = reason;
}

/// <summary>One watcher's state.</summary>
/// <param name="Status">Healthy (working), degraded (reconnecting) or unhealthy (stopped).</param>
/// <param name="Description">What is going on.</param>
/// <param name="LastWorking">When it last worked.</param>
public sealed record MailboxHealth(HealthStatus Status, string Description, DateTimeOffset LastWorking);

/// <summary>A destination whose deliveries wait.</summary>
/// <param name="Failures">Failures in a row.</param>
/// <param name="RetryAt">When it is tried again.</param>
/// <param name="Reason">The last error's type.</param>
public sealed record DestinationHealth(int Failures, DateTimeOffset RetryAt, string Reason);
