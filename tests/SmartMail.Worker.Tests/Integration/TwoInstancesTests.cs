using MailKit;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Two workers with their own ledgers on one mailbox by mistake. Per-mail claims alone did not prevent double routing on
/// Dovecot (a conditional STORE is checked against each session's own view: 2 of 8 runs had 13-15 of 200 mails claimed by
/// both). The mailbox lease (<see cref="ImapLease"/>, a RENAME compare-and-swap) lets one work while the other stands by.
/// </summary>
public sealed class TwoInstancesTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task TwoWorkerProcessesOnOneMailbox_OneRoutesTheOtherStandsBy_AndTakesOverWhenItIsKilled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var lease = new Dictionary<string, string>
        {
            ["Mailboxes__0__CommandTimeout"] = "00:00:03",
            ["Mailboxes__0__LeaseDuration"] = "00:00:06",
        };
        var logs = new Dictionary<string, System.Collections.Concurrent.ConcurrentQueue<string>>
        {
            ["a"] = new(),
            ["b"] = new(),
        };
        var workers = new Dictionary<string, WorkerProcess>();
        string Db(string name) => Path.Combine(Data.FullName, name, "state.db");
        var appended = 0; // distinct mails (each differs by its number)
        try
        {
            // Both start at once (the mistake: one unit file copied to two hosts), so they race for the first lease too.
            foreach (var name in logs.Keys)
            {
                DataDirectoryPermissions.Prepare(Path.Combine(Data.FullName, name)); // private, as the worker requires
                workers[name] = WorkerProcess.Start(dovecot, Path.Combine(Data.FullName, name), Model.ModelPath, 25, logs[name].Enqueue, lease);
            }
            for (var chunk = 0; chunk < 4; chunk++)
            {
                await dovecot.AppendAsync(Enumerable.Range(chunk * 50, 50).Select(Mail));
                appended += 50;
                await Task.Delay(300, ct);
            }
            int Routed(string name) => WorkerProcess.Acknowledged(Db(name));
            await WorkerProcess.WaitUntil(() => Routed("a") + Routed("b") >= 200, TimeSpan.FromSeconds(90));
            var holder = Routed("a") > 0 ? "a" : "b";
            var standby = holder == "a" ? "b" : "a";
            Assert.Equal(0, Routed(standby)); // it stood by: the holder routed every mail
            // On a busy machine the holder can route all 200 before the other has connected and asked for the lease: wait for
            // its answer rather than expect it by now.
            await WorkerProcess.WaitUntil(() => logs[standby].Any(l => l.Contains("stands by", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
            Assert.Equal(0, Routed(standby)); // and it still stands by, having routed nothing

            // Kill the holder while it routes; the standby takes over once the lease has run out.
            await dovecot.AppendAsync(Enumerable.Range(200, 100).Select(Mail));
            appended += 100;
            // Kill it mid-batch when the ledger shows mail claimed (marker stored) but not yet acknowledged, if that moment comes
            // within 15 s; the new holder must then take that mail over from the dead one's claim.
            int Claimed() => int.Parse(WorkerProcess.Query(Db(holder), "SELECT COUNT(*) FROM mail WHERE state < 3 AND marker IS NOT NULL").FirstOrDefault() ?? "0",
                System.Globalization.CultureInfo.InvariantCulture);
            var midBatch = System.Diagnostics.Stopwatch.StartNew();
            while (Claimed() == 0 && midBatch.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(5, ct);
            }
            var killedAt = System.Diagnostics.Stopwatch.StartNew();
            await workers[holder].KillAsync();
            // Mail keeps arriving while nobody holds the lease (the kill may also have come after the last claim).
            await dovecot.AppendAsync(Enumerable.Range(300, 20).Select(Mail));
            appended += 20;
            output.WriteLine($"killed {holder} with {Routed(holder)} routed and {Claimed()} claimed, unfinished");
            await WorkerProcess.WaitUntil(() => Routed(standby) > 0, TimeSpan.FromSeconds(60));
            output.WriteLine($"{standby} routes after {killedAt.Elapsed.TotalSeconds:F1} s");
            var takeover = killedAt.Elapsed;
            // Mail the killed holder had claimed but not moved is taken over once the new holder has held the lease a while.
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); await InboxCountAsync() > 0; await Task.Delay(200, ct))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "mail left in INBOX");
            }
            output.WriteLine($"holder {holder} routed {Routed(holder)}, standby {standby} routed {Routed(standby)}; takeover {takeover.TotalSeconds:F1} s after the kill");
            Assert.InRange(takeover, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30)); // not before the lease ran out
        }
        finally
        {
            foreach (var worker in workers.Values)
            {
                worker.Dispose();
            }
            foreach (var (name, lines) in logs)
            {
                foreach (var line in lines.Where(l => l.Contains("lease", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("crit", StringComparison.OrdinalIgnoreCase)).Take(40))
                {
                    output.WriteLine($"{name}: {line}");
                }
            }
        }

        // Every mail in exactly one destination, once; no mail delivered by both ledgers; every copy explained by a ledger.
        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(appended, inventory.Count);
        Assert.Equal(appended, inventory.Select(m => m.Fingerprint).Distinct().Count());
        var rows = new[] { "a", "b" }.SelectMany(name => LedgerQuery.Rows(Db(name),
            "SELECT fingerprint || '|' || IFNULL(destination, '') || '|' || state FROM mail WHERE state >= 1").Select(r => (Ledger: name, Row: r.Split('|')))).ToList();
        var acknowledged = rows.Where(r => r.Row[2] == "3").ToLookup(r => r.Row[0]);
        Assert.All(acknowledged, g => Assert.Single(g.Select(r => r.Ledger).Distinct()));
        // A copy is explained by a decision for that mail and that folder: acknowledged, or (the holder was killed between
        // its MOVE and the ledger write) decided or delivered in the dead holder's ledger, which its own restart would finish.
        foreach (var message in inventory)
        {
            Assert.Contains(rows, r => r.Row[0] == message.Fingerprint && FolderOf(r.Row[1]) == message.Folder);
        }
        Assert.True(acknowledged.Count >= appended - 25, $"{acknowledged.Count} acknowledged"); // at most one batch cut off by the kill

        // STATUS, not a FETCH of every message: the worker moves mail meanwhile.
        async Task<int> InboxCountAsync()
        {
            using var client = await dovecot.ClientAsync();
            await client.Inbox.StatusAsync(StatusItems.Count, ct);
            return client.Inbox.Count;
        }

        static byte[] Mail(int i) => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i));
        static string FolderOf(string destination) => SmartMail.Worker.Sinks.FolderJournalSink.SafeName(destination).Replace('.', '_');
    }

    [Fact]
    public async Task Claim_AnotherInstancesMarkerIsLeftAlone_OwnMarkerFromBeforeACrashIsResumed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(1)), System.Text.Encoding.UTF8.GetBytes(Mails.Space(2))]);
        const string Foreign = ImapMailbox.MarkerPrefix + "0e0e0e0e_sm-000000000000000000000000";
        using (var client = await dovecot.ClientAsync())
        {
            await client.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await client.Inbox.AddFlagsAsync(0, MessageFlags.None, new HashSet<string> { Foreign }, true, ct);
            await client.DisconnectAsync(true, ct);
        }
        var options = new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };
        var policy = new RoutingPolicy([], Model.Bundle);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        MailProcessor Processor(ImapMailbox mailbox) =>
            new(store, () => policy, new MailExtractor(), mailbox, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());
        MailKey claimed;
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            var pending = Assert.Single(await mailbox.ListAsync(ct)); // the other instance's mail is not listed
            var prepared = await Processor(mailbox).PrepareBatchAsync(mailbox, [(pending, await mailbox.FetchAsync(pending.Key, ct))], 10, ct);
            Assert.Null(Assert.Single(await mailbox.ClaimBatchAsync([prepared[0].Delivery], store, ct)));
            claimed = pending.Key;
            // The process dies here: the mail is claimed, not moved.
        }

        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, ct);
            var outcome = Assert.Single(await Processor(mailbox).DrainAsync(mailbox, 10, ct));
            Assert.Equal(ProcessOutcome.Routed, outcome);
        }

        var inventory = await dovecot.InventoryAsync();
        Assert.Equal(Foreign, Assert.Single(Assert.Single(inventory, m => m.Folder == "INBOX").Keywords));
        var routed = Assert.Single(inventory, m => m.Folder != "INBOX");
        Assert.Equal(store.Get(claimed)!.Marker, Assert.Single(routed.Keywords)); // moved under its first claim, not claimed twice
        Assert.StartsWith(ImapMailbox.MarkerPrefix + store.InstanceId + "_", store.Get(claimed)!.Marker, StringComparison.Ordinal);
    }
}
