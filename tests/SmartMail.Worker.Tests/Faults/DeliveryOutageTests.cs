using System.Diagnostics;
using System.Text.Json;
using MimeKit;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// The SMTP relay and the case system's webhook go down for a while and come back, with the worker running over a real
/// Dovecot: mail for them waits in the mailbox (not quarantined: an outage is not the mail's fault), then goes, once.
/// </summary>
public sealed class DeliveryOutageTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task SmtpAndWebhookDown_MailWaitsWithoutQuarantine_ThenEachIsDeliveredOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FaultRig.StartAsync(new IntegrationTestContext(Data.FullName, Model, output));
        rig.Smtp = await SmtpReceiver.StartAsync(ct);
        await using var smtpLink = FaultProxy.Start(rig.Smtp.Port);
        var webhookDown = true;
        rig.Webhook = new HttpReceiver(_ => Task.FromResult(Volatile.Read(ref webhookDown) ? 503 : 200));
        rig.Options.Smtp = new SmtpForwardOptions
        {
            Host = "127.0.0.1", Port = smtpLink.Port, Security = SmtpForwardSecurity.None, AllowPlaintext = true,
            From = "smartmail@kommune.example", Timeout = TimeSpan.FromSeconds(5),
        };
        rig.Options.Webhook = new WebhookOptions { AllowPlaintext = true, MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(5) };
        rig.Options.Routes["sci.space"] = new RouteOptions { Kind = RouteKind.Webhook, Url = rig.Webhook.Url("esdh") };
        rig.Options.Routes["rec.autos"] = new RouteOptions { Kind = RouteKind.Smtp, Destination = "Teknik", Address = "teknik@kommune.example" };
        rig.Options.DeliveryRetryBackoff = TimeSpan.FromMilliseconds(200);
        rig.Options.DeliveryRetryMaxBackoff = TimeSpan.FromSeconds(1);
        rig.Mailbox.PollInterval = TimeSpan.FromMilliseconds(300);
        Assert.True(new SmartMailOptionsValidator().Validate(null, rig.Options).Succeeded);
        smtpLink.RefuseAll();
        await rig.AppendAsync(Enumerable.Range(0, 30).Select(i => (i % 3) switch { 0 => Mails.Space(i), 1 => Mails.Car(i), _ => Mails.Danish(i) }));

        await rig.StartWorkerAsync(ct);
        // Folder routes go on during the outage; 6 s is 20 polls, far more than MaxAttempts (3).
        await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 10, TimeSpan.FromSeconds(60), "the folder-routed mail");
        await Task.Delay(TimeSpan.FromSeconds(6), ct);
        var during = await rig.Dovecot.InventoryAsync();
        var quarantinedDuring = during.Count(m => m.Folder == rig.Options.QuarantineDestination);
        var waiting = during.Count(m => m.Folder == "INBOX");
        var failedTries = rig.Webhook.Answered.Count(a => a.Status == 503);
        output.WriteLine($"during the outage: {waiting} waiting in INBOX, {quarantinedDuring} quarantined, {failedTries} failed webhook tries");
        // Monitoring sees the outage: degraded, naming both destinations (the mailbox itself is connected).
        using var models = new SmartMail.Worker.Processing.ModelProvider(rig.Options, Microsoft.Extensions.Logging.Abstractions.NullLogger<SmartMail.Worker.Processing.ModelProvider>.Instance);
        var duringHealth = await new SmartMail.Worker.Health.SmartMailHealthCheck(rig.Health, models)
            .CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext(), ct);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, duringHealth.Status);
        Assert.Contains("Teknik", duringHealth.Description, StringComparison.Ordinal);
        Assert.Contains("sci.space", duringHealth.Description, StringComparison.Ordinal);

        smtpLink.Heal();
        Volatile.Write(ref webhookDown, false);
        var stopwatch = Stopwatch.StartNew();
        var recovery = await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 30, TimeSpan.FromSeconds(60), "every mail delivered after the outage");

        var afterHealth = await new SmartMail.Worker.Health.SmartMailHealthCheck(rig.Health, models)
            .CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext(), ct);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, afterHealth.Status);
        var tally = await rig.StopAndTallyAsync(ct);
        FaultReport.Write(output, "SMTP relay and webhook down 6 s", tally, recovery);
        Assert.Equal((0, 20), (quarantinedDuring, waiting));
        tally.AssertExactlyOnce();
        Assert.Equal(0, tally.Quarantined);
        // One accepted delivery per decision: SMTP by its Message-ID, the webhook by its Idempotency-Key.
        var smtpIds = rig.Smtp.Received.Select(m => MimeMessage.Load(new MemoryStream(m.Raw), ct).MessageId).ToList();
        Assert.Equal(10, smtpIds.Count);
        Assert.Equal(10, smtpIds.Distinct().Count());
        var accepted = rig.Webhook.Answered.Where(a => a.Status == 200).Select(a => a.Request).ToList();
        Assert.Equal(10, accepted.Count);
        Assert.Equal(10, accepted.Select(r => r.Headers[WebhookSink.IdempotencyKeyHeader]).Distinct().Count());
        Assert.All(accepted, r =>
        {
            using var body = JsonDocument.Parse(r.Body);
            Assert.Equal(body.RootElement.GetProperty("message").GetProperty("decisionId").GetString(), r.Headers[WebhookSink.IdempotencyKeyHeader]);
        });
        // The retries backed off: a few tries per destination and second, not a tight loop.
        Assert.InRange(failedTries, 1, 200);
    }
}
