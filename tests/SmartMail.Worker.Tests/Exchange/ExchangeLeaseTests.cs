using System.Collections.Concurrent;
using System.Diagnostics;
using MailKit;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// The mailbox lease on Exchange Online, where claims cannot be atomic (no CONDSTORE): two worker processes with their own
/// ledgers on one mailbox, both signing in with OAuth2. One holds the lease (a folder under SmartMail-Lease, renamed as a
/// compare-and-swap; "/" separated) and routes; the other stands by, and takes over when the holder is killed.
/// </summary>
public sealed class ExchangeLeaseTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task TwoWorkersOnOneExchangeMailbox_OneHoldsTheLeaseAndRoutes_TheOtherTakesOverAfterAKill_EveryMailOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await ExchangeOnline.StartAsync(ExchangeCredential.Secret);
        var settings = exchange.WorkerSettings(new Dictionary<string, string>
        {
            ["Mailboxes__0__CommandTimeout"] = "00:00:10", // the first token request (discovery over HTTPS) under load
            ["Mailboxes__0__LeaseDuration"] = "00:00:20",
        });
        var logs = new Dictionary<string, ConcurrentQueue<string>> { ["a"] = new(), ["b"] = new() };
        var workers = new Dictionary<string, WorkerProcess>();
        string Db(string name) => Path.Combine(Data.FullName, name, "state.db");
        int Routed(string name) => WorkerProcess.Acknowledged(Db(name));
        var appended = 0;
        string holder;
        try
        {
            foreach (var name in logs.Keys)
            {
                DataDirectoryPermissions.Prepare(Path.Combine(Data.FullName, name)); // private, as the worker requires
                workers[name] = WorkerProcess.Start(exchange.Dovecot, Path.Combine(Data.FullName, name), Model.ModelPath, 10, logs[name].Enqueue, settings);
            }
            for (var chunk = 0; chunk < 4; chunk++)
            {
                await exchange.Dovecot.AppendAsync(Enumerable.Range(chunk * 20, 20).Select(Mail));
                appended += 20;
                await Task.Delay(300, ct);
            }
            await WorkerProcess.WaitUntil(() => Routed("a") + Routed("b") >= appended, TimeSpan.FromSeconds(90));
            holder = Routed("a") > 0 ? "a" : "b";
            var standby = holder == "a" ? "b" : "a";
            Assert.Equal(0, Routed(standby)); // one holder at a time: the standby routed nothing
            Assert.Contains(logs[standby], l => l.Contains("stands by", StringComparison.Ordinal));

            // Kill the holder while it routes; the standby takes over once the lease has run out.
            await exchange.Dovecot.AppendAsync(Enumerable.Range(100, 40).Select(Mail));
            appended += 40;
            var midBatch = Stopwatch.StartNew();
            while (Routed(holder) < 80 + 5 && midBatch.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(5, ct);
            }
            var killedAt = Stopwatch.StartNew();
            await workers[holder].KillAsync();
            output.WriteLine($"killed {holder} with {Routed(holder)} routed");
            await exchange.Dovecot.AppendAsync(Enumerable.Range(200, 10).Select(Mail));
            appended += 10;
            await WorkerProcess.WaitUntil(() => Routed(standby) > 0, TimeSpan.FromSeconds(90));
            var takeover = killedAt.Elapsed;
            for (var waited = Stopwatch.StartNew(); await InboxCountAsync() > 0; await Task.Delay(200, ct))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "mail left in INBOX");
            }
            output.WriteLine($"holder {holder} routed {Routed(holder)}, standby {standby} routed {Routed(standby)}; takeover {takeover.TotalSeconds:F1} s after the kill");
            output.WriteLine(exchange.Summary());
            Assert.InRange(takeover, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(75)); // not before the lease ran out
        }
        finally
        {
            foreach (var worker in workers.Values)
            {
                worker.Dispose();
            }
            foreach (var (name, lines) in logs)
            {
                // Everything but the per-mail lines (an exception's message and stack follow its first line).
                foreach (var line in lines.Where(l => !l.Contains(" by policy", StringComparison.Ordinal) && !l.Contains("a person decides", StringComparison.Ordinal)).Take(60))
                {
                    output.WriteLine($"{name}: {line}");
                }
            }
        }

        // Every mail in exactly one destination, once; each copy explained by one ledger's decision for that folder.
        var inventory = await exchange.Dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(appended, inventory.Count);
        Assert.Equal(appended, inventory.Select(m => m.Fingerprint).Distinct().Count());
        var rows = new[] { "a", "b" }.SelectMany(name => LedgerQuery.Rows(Db(name),
            "SELECT fingerprint || '|' || IFNULL(destination, '') || '|' || state FROM mail WHERE state >= 1").Select(r => (Ledger: name, Row: r.Split('|')))).ToList();
        Assert.All(rows.Where(r => r.Row[2] == "3").ToLookup(r => r.Row[0]), g => Assert.Single(g.Select(r => r.Ledger).Distinct()));
        foreach (var message in inventory)
        {
            Assert.Contains(rows, r => r.Row[0] == message.Fingerprint && FolderOf(r.Row[1]) == message.Folder);
        }
        // The lease lives in folders under SmartMail-Lease, named with Exchange's separator.
        using var client = await exchange.Dovecot.ClientAsync();
        var leaseRoot = await client.GetFolderAsync("SmartMail-Lease", ct);
        Assert.Equal(ExchangeOnline.Separator, leaseRoot.DirectorySeparator);
        Assert.NotEmpty(await leaseRoot.GetSubfoldersAsync(false, ct));

        async Task<int> InboxCountAsync()
        {
            using var c = await exchange.Dovecot.ClientAsync();
            await c.Inbox.StatusAsync(StatusItems.Count, ct);
            return c.Inbox.Count;
        }
    }

    private static byte[] Mail(int i) => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i));

    private static string FolderOf(string destination) =>
        FolderJournalSink.SafeName(destination).Replace(ExchangeOnline.Separator, '_');
}
