using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Health;

/// <summary>
/// Unhealthy when the ledger failed or a mailbox stopped (refused credentials, no lease possible); degraded while a
/// mailbox reconnects or deliveries to a destination wait (SMTP relay or webhook down); healthy when every watcher works
/// (or stands by for another instance's lease). Data: per-mailbox state and the model version in force.
/// </summary>
public sealed class SmartMailHealthCheck(WorkerHealth health, ModelProvider models) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["model"] = models.Policy.Model?.Manifest.ModelVersion ?? "none",
        };
        foreach (var (name, mailbox) in health.Mailboxes)
        {
            data[$"mailbox:{name}"] = $"{mailbox.Status}: {mailbox.Description} (last working {mailbox.LastWorking:O})";
        }
        if (health.LedgerFailure is { } failure)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the ledger cannot record, no mail is taken: {failure}", data: data));
        }
        foreach (var (destination, waiting) in health.WaitingDestinations)
        {
            data[$"destination:{destination}"] = $"waiting: {waiting.Failures} failed deliveries in a row ({waiting.Reason}); next try {waiting.RetryAt:O}";
        }
        var worst = health.Mailboxes.Values.Select(m => m.Status).DefaultIfEmpty(HealthStatus.Healthy).Min();
        if (worst == HealthStatus.Healthy && health.WaitingDestinations.Count > 0)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"deliveries wait for {string.Join(", ", health.WaitingDestinations.Keys.Order(StringComparer.Ordinal))} (their mail stays in its source)", data: data));
        }
        return Task.FromResult(new HealthCheckResult(worst, worst switch
        {
            HealthStatus.Healthy => "all mailboxes are being watched",
            HealthStatus.Degraded => "a mailbox is reconnecting",
            _ => "a mailbox has stopped",
        }, data: data));
    }
}
