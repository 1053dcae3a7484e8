using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Reliability;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// Manual triage and quarantine on Exchange Online with Exchange-style folder names: names with spaces, a dot (which Exchange,
/// separating with "/", keeps in the name instead of making a subfolder) and a Danish letter. Uncertain mail goes to manual
/// triage; oversize mail and a mail that kept killing the worker (poison) go to quarantine; the rest is routed.
/// </summary>
public sealed class ExchangeTriageTests(DefaultModelFixture model) : IntegrationTest(model)
{
    private const string Triage = "SmartMail.Manuel visitering";
    private const string Quarantine = "SmartMail.Karantæne";

    [Fact]
    public async Task UncertainMail_GoesToManualTriage_OversizeAndPoison_ToQuarantine_InExchangeNamedFolders()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await ExchangeOnline.StartAsync();
        var options = new SmartMailOptions
        {
            DataDirectory = Data.FullName,
            ModelPath = Model.ModelPath,
            ManualTriageDestination = Triage,
            QuarantineDestination = Quarantine,
            MaxMessageMegabytes = 1,
        };
        options.Mailboxes.Add(exchange.Options());
        var checker = new MailboxChecker { Separator = ExchangeOnline.Separator, ManualTriageDestination = Triage, QuarantineDestination = Quarantine };
        var uncertain = Enumerable.Range(0, 6).Select(i => Bytes(Mails.Danish(i))).ToList();
        var certain = Enumerable.Range(0, 4).Select(i => Bytes(Mails.Space(i))).ToList();
        var oversize = Bytes(Mails.Space(100) + string.Concat(Enumerable.Repeat(new string('y', 76) + "\r\n", 16_000))); // 1.25 MB
        var poison = Bytes(Mails.Car(200));
        // Fingerprints as the server stores the mails (APPEND goes through MimeKit): uncertain 0-5, certain 6-9, oversize, poison.
        var stored = await exchange.Dovecot.AppendFingerprintedAsync([.. uncertain, .. certain, oversize, poison]);
        checker.Append(stored);
        checker.ExpectUnfetched(stored[10]);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        var policy = new RoutingPolicy([], Model.Bundle);
        using (var mailbox = new ImapMailbox(options.Mailboxes[0], store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            // The poison mail was started MaxAttempts times before, each run dying before it decided (as a crash would).
            var poisonPrint = stored[11];
            foreach (var pending in await mailbox.ListAsync(ct))
            {
                if (await mailbox.FetchAsync(pending.Key, ct) is { } raw && MailExtractor.Fingerprint(raw) == poisonPrint)
                {
                    for (var i = 0; i < options.MaxAttempts + CrashBisect.Steps(50); i++) // alone MaxAttempts times: after the halvings of a batch of 50
                    {
                        store.Ledger.Begin([(pending.Key, poisonPrint, MailProcessor.DecisionIdFor(pending.Key.Mailbox, poisonPrint))], DateTimeOffset.UtcNow);
                    }
                }
            }
            var processor = new MailProcessor(store, () => policy, new MailExtractor(), mailbox, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());

            var outcomes = await processor.DrainAsync(mailbox, 50, ct);

            Assert.Equal(12, outcomes.Count);
            await mailbox.DisconnectAsync(ct);
        }

        var report = await checker.CheckAsync(exchange.Dovecot, Path.Combine(Data.FullName, "state.db"));
        report.AssertClean();
        var inventory = await exchange.Dovecot.InventoryAsync();
        string FolderOf(string fingerprint) => Assert.Single(inventory, m => m.Fingerprint == fingerprint).Folder;
        // On Exchange the dot stays in the name: one top-level folder each, not a "SmartMail" folder with children.
        Assert.Equal("SmartMail.Karantæne", FolderOf(stored[10]));
        Assert.Equal("SmartMail.Karantæne", FolderOf(stored[11]));
        Assert.All(stored[..6], m => Assert.Equal("SmartMail.Manuel_visitering", FolderOf(m)));
        Assert.All(stored[6..10], m => Assert.Equal("sci.space", FolderOf(m)));
        Assert.Equal(2, report.Quarantined);
        Assert.Equal(6, report.ManualTriage);
        var audit = store.ReadAudit();
        Assert.Contains(audit, a => a.Outcome == "quarantined" && a.Reason.Contains("larger than 1 MB", StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Outcome == "quarantined" && a.Reason.Contains("without finishing", StringComparison.Ordinal));
        using var client = await exchange.Dovecot.ClientAsync();
        Assert.DoesNotContain(await client.GetFolder(client.PersonalNamespaces[0]).GetSubfoldersAsync(false, ct), f => f.Name == "SmartMail");
    }

    private static byte[] Bytes(string mail) => Encoding.UTF8.GetBytes(mail);
}
