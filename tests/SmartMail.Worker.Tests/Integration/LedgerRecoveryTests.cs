using MailKit;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Issue 13 §2 against a real Dovecot: mail that left the folder undelivered is not a duplicate when it comes back, and
/// recovery asks the sink the decision went to (not an IMAP folder named after an SMTP, webhook or journal route).
/// </summary>
public sealed class LedgerRecoveryTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact]
    public async Task UidValidityChange_WhileMailSeenOrDecided_RoutesEachMailOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, 6).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        var options = Options();
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            var pending = await mailbox.ListAsync(ct);
            // Half of the mails decided, the other half only seen, then the process stops: nothing delivered.
            var processor = Processor(store, mailbox, options);
            foreach (var mail in pending.Take(3))
            {
                Assert.Null((await processor.PrepareAsync(mailbox, mail, ct)).Outcome);
            }
            foreach (var mail in pending.Skip(3))
            {
                var raw = (await mailbox.FetchAsync(mail.Key, ct))!;
                var fingerprint = MailExtractor.Fingerprint(raw);
                store.Ledger.Begin([(mail.Key, fingerprint, MailProcessor.DecisionIdFor(mail.Key.Mailbox, fingerprint))], DateTimeOffset.UtcNow);
            }
        }

        await dovecot.ResetUidValidityAsync();
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, ct);
            var outcomes = await Processor(store, mailbox, options).DrainAsync(mailbox, 10, ct);

            Assert.Equal(6, outcomes.Count(o => o is ProcessOutcome.Routed or ProcessOutcome.Manual));
        }
        var inventory = await dovecot.InventoryAsync();
        Assert.Equal(6, inventory.Count);
        Assert.DoesNotContain(inventory, m => m.Folder is "INBOX" or "SmartMail-Processed");
        Assert.Equal(6, inventory.Select(m => m.Fingerprint).Distinct().Count());
        Assert.DoesNotContain(store.ReadAudit(), a => a.Outcome == "duplicate");
    }

    [Fact]
    public async Task MailDraggedOutMidFlightAndBack_IsRoutedOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(1))]);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        var options = Options();
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(ct);
        var processor = Processor(store, mailbox, options);
        var pending = Assert.Single(await mailbox.ListAsync(ct));
        var prepared = await processor.PrepareAsync(mailbox, pending, ct);
        Assert.Null(prepared.Outcome);

        // A person drags the mail to a folder of their own between the decision and the delivery...
        await MoveAsync(dovecot, "INBOX", "Mine", ct);
        var first = await processor.DeliverAsync(mailbox, prepared, ct);
        Assert.Equal(ProcessOutcome.Gone, first);
        // ...and back a while later.
        await MoveAsync(dovecot, "Mine", "INBOX", ct);
        var outcomes = await processor.DrainAsync(mailbox, 10, ct);

        Assert.Equal(ProcessOutcome.Routed, Assert.Single(outcomes));
        var message = Assert.Single(await dovecot.InventoryAsync());
        Assert.Equal("sci_space", message.Folder);
    }

    [Theory]
    [InlineData("Folder")]
    [InlineData("Webhook")]
    public async Task Reconcile_CrashAfterAcknowledgeOnANonImapRoute_FinishesWithoutAnImapFolderOrGone(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(2))]);
        using var hook = kind == "Webhook" ? new SmartMail.Worker.Tests.Sinks.HttpReceiver(200) : null;
        var options = Options();
        options.Routes["sci.space"] = new RouteOptions { Destination = "Space Desk", Kind = Enum.Parse<RouteKind>(kind), Url = hook?.Url("hook") };
        options.Webhook.AllowPlaintext = true; // the local receiver is plain http on loopback
        var dbPath = Path.Combine(Data.FullName, "state.db");
        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            // Delivered, moved to the processed folder, then the process died before the ledger recorded the acknowledgement.
            var crashing = new TestWorld.CrashingSource(mailbox) { CrashAt = CrashPoint.AfterAcknowledge };
            await Assert.ThrowsAsync<CrashException>(() => Processor(store, mailbox, options).DrainAsync(crashing, ct));
        }

        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, ct);

            Assert.Empty(store.ListUnfinished("test"));
            Assert.DoesNotContain(store.ReadAudit(), a => a.Outcome == "gone");
            Assert.Single(store.ReadAudit(), a => a.Outcome == "routed");
        }
        using var client = await dovecot.ClientAsync();
        var folders = await client.GetFolder(client.PersonalNamespaces[0]).GetSubfoldersAsync(false, ct);
        Assert.DoesNotContain(folders, f => f.Name.Contains("Space", StringComparison.Ordinal));
        if (hook is not null)
        {
            Assert.Single(hook.Requests);
        }
    }

    [Fact]
    public async Task Reconcile_CrashAfterMoveBeforeLedger_RecoveryRowIsInTheAuditFileToo()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, 3).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        var options = Options();
        var dbPath = Path.Combine(Data.FullName, "state.db");
        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            var crashing = new TestWorld.CountingSink(mailbox, new()) { CrashAt = CrashPoint.AfterDeliver };
            var policy = new RoutingPolicy([], Model.Bundle);
            var processor = new MailProcessor(store, () => policy, new MailExtractor(), crashing, options, TimeProvider.System, NullLogger.Instance,
                new WorkerMetrics());
            await Assert.ThrowsAsync<CrashException>(() => processor.DrainAsync(mailbox, ct));
        }

        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            var processor = Processor(store, mailbox, options);
            await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, ct);
            await processor.DrainAsync(mailbox, ct);

            var table = store.ReadAudit();
            Assert.Contains(table, a => a.Source == "recovery");
            var lines = File.ReadAllLines(Path.Combine(Data.FullName, "audit.jsonl"));
            Assert.Equal(table.Count, lines.Length);
            Assert.Equal(table.Select(a => a.Outcome), lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("outcome").GetString()));
        }
    }

    private SmartMailOptions Options() => new() { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };

    private MailProcessor Processor(SqliteStateStore store, ImapMailbox mailbox, SmartMailOptions options)
    {
        var policy = new RoutingPolicy([], Model.Bundle);
        RoutingSink? routes = null;
        var http = new HttpClient();
        routes = new RoutingSink(options, mailbox, new FolderJournalSink(options.JournalPath), null,
            () => new WebhookSink(http, options.Webhook, d => routes!.UrlOf(d)));
        return new MailProcessor(store, () => policy, new MailExtractor(), routes, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());
    }

    private static async Task MoveAsync(Dovecot dovecot, string from, string to, CancellationToken ct)
    {
        using var client = await dovecot.ClientAsync();
        var source = await client.GetFolderAsync(from, ct);
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        var target = (from == "INBOX" ? await root.CreateAsync(to, true, ct) : client.Inbox) ?? throw new InvalidOperationException("no folder");
        await source.OpenAsync(FolderAccess.ReadWrite, ct);
        var uids = await source.SearchAsync(MailKit.Search.SearchQuery.All, ct);
        await source.MoveToAsync(uids, target, ct);
        await client.DisconnectAsync(true, ct);
    }
}
