using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>One IMAP mailbox whose routing table sends some labels to a webhook and by SMTP, the rest to folders.</summary>
public sealed class RoutingTableTests(DefaultModelFixture model) : IntegrationTest(model)
{

    [Fact]
    public async Task Drain_MixedRoutes_EachMailDeliveredOnceByItsRoute()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await using var smtp = await SmtpReceiver.StartAsync(ct);
        using var http = new HttpReceiver(200);
        await dovecot.AppendAsync([
            .. Enumerable.Range(0, 3).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))),
            .. Enumerable.Range(0, 3).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Car(i))),
            .. Enumerable.Range(0, 2).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Danish(i))),
        ]);
        var options = new SmartMailOptions
        {
            DataDirectory = Data.FullName,
            ModelPath = Model.ModelPath,
            Smtp = new SmtpForwardOptions { Host = "127.0.0.1", Port = smtp.Port, Security = SmtpForwardSecurity.None, AllowPlaintext = true, From = "smartmail@kommune.example" },
            Webhook = new WebhookOptions { AllowPlaintext = true },
            Routes =
            {
                ["sci.space"] = new RouteOptions { Kind = RouteKind.Webhook, Url = http.Url("esdh"), Kle = "00.01.00" },
                ["rec.autos"] = new RouteOptions { Kind = RouteKind.Smtp, Destination = "Teknik", Address = "teknik@kommune.example" },
            },
        };
        Assert.True(new SmartMailOptionsValidator().Validate(null, options).Succeeded);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(ct);
        using var client = new HttpClient();
        RoutingSink? routes = null;
        routes = new RoutingSink(options, mailbox, new FolderJournalSink(options.JournalPath),
            () => new SmtpForwardSink(options.Smtp, d => routes!.AddressOf(d)),
            () => new WebhookSink(client, options.Webhook, d => routes!.UrlOf(d)));
        var policy = new RoutingPolicy([], Model.Bundle);
        var processor = new MailProcessor(store, () => policy, new MailExtractor(), routes, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());

        var outcomes = await processor.DrainAsync(mailbox, 50, ct);

        Assert.Equal(8, outcomes.Count);
        Assert.Equal(3, http.Requests.Count);
        Assert.All(http.Requests, r =>
        {
            using var body = JsonDocument.Parse(r.Body);
            Assert.Equal("sci.space", body.RootElement.GetProperty("decision").GetProperty("label").GetString());
            Assert.Equal("00.01.00", body.RootElement.GetProperty("decision").GetProperty("kle").GetString());
            Assert.Equal(body.RootElement.GetProperty("decision").GetProperty("decisionId").GetString(), r.Headers["Idempotency-Key"]);
        });
        Assert.Equal(3, smtp.Received.Count);
        Assert.All(smtp.Received, m =>
        {
            Assert.Equal(["teknik@kommune.example"], m.To);
            Assert.Equal("rec.autos", MimeMessage.Load(new MemoryStream(m.Raw), ct).Headers["X-SmartMail-Label"]);
        });
        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(6, inventory.Count(m => m.Folder == "SmartMail-Processed"));
        Assert.Equal(2, inventory.Count(m => m.Folder != "SmartMail-Processed")); // the two Danish mails: a folder each, by the model
        Assert.Equal(8, store.CountByState()[MailState.Acknowledged]);
    }
}
