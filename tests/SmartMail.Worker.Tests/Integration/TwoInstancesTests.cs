using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Two workers with their own ledgers on one mailbox by mistake. Measured: 200 mails became 213-225 messages, because
/// two sessions' concurrent MOVEs can both copy a message before either expunges it (RFC 6851 only says SHOULD NOT).
/// This test reproduces it and stays skipped until each mail is claimed atomically before its move (a conditional STORE of
/// the marker with CONDSTORE UNCHANGEDSINCE, skipping mail that carries another instance's marker) or a shared PostgreSQL
/// ledger hands out leases. Until then: one instance per mailbox (docs/operations.md).
/// </summary>
public sealed class TwoInstancesTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact(Skip = "known issue (issue 7): two instances on one mailbox can duplicate mail; needs an atomic per-mail claim (CONDSTORE) or a lease")]
    public async Task TwoInstancesOnOneMailbox_FolderRoutes_EachMailDeliveredOnce()
    {
        const int Count = 200;
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, Count).Select(i => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i))));
        var policy = new RoutingPolicy([], Model.Bundle);

        async Task<IReadOnlyList<ProcessOutcome>> Instance(string name, int batchSize)
        {
            var options = new SmartMailOptions { DataDirectory = Path.Combine(Data.FullName, name), ModelPath = Model.ModelPath };
            using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
            using var mailbox = new ImapMailbox(dovecot.Options());
            await mailbox.ConnectAsync(ct);
            var processor = new MailProcessor(store, () => policy, new MailExtractor(), mailbox, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());
            return await ImapBatchDrainer.DrainAsync(mailbox, processor, store, batchSize, ct);
        }

        var results = await Task.WhenAll(Instance("a", 25), Instance("b", 40));
        static IEnumerable<(string Fingerprint, string Destination)> Claims(string db)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT fingerprint, destination FROM mail WHERE state = 3 AND decision_id NOT IN (SELECT decision_id FROM audit WHERE outcome = 'gone')";
            using var r = cmd.ExecuteReader();
            var result = new List<(string, string)>();
            while (r.Read())
            {
                result.Add((r.GetString(0), r.GetString(1)));
            }
            return result;
        }

        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(Count, inventory.Count);
        Assert.Equal(Count, inventory.Select(m => m.Fingerprint).Distinct().Count());
        // Between them the instances account for every mail, and every delivery either ledger claims is true: the mail is
        // in the folder that ledger names. (Both may claim the same mail when both chose the same folder: the server's MOVE
        // moved it once, carrying both markers.)
        var folderOf = inventory.ToDictionary(m => m.Fingerprint, m => m.Folder);
        var claims = new[] { "a", "b" }.SelectMany(name => Claims(Path.Combine(Data.FullName, name, "state.db"))).ToList();
        Assert.Equal(Count, claims.Select(c => c.Fingerprint).Distinct().Count());
        Assert.All(claims, c => Assert.Equal(SmartMail.Worker.Sinks.FolderJournalSink.SafeName(c.Destination).Replace('.', '_'), folderOf[c.Fingerprint]));
        Assert.True(results.Sum(r => r.Count) >= Count);
    }
}
