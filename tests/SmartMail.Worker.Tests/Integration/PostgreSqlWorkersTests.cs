using System.Globalization;
using Npgsql;
using SmartMail.Web;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Two real worker processes with <c>SmartMail:State:Provider=PostgreSql</c>, each on its own mailbox (its own Dovecot),
/// one PostgreSQL database: every mail routed once, from the database's rows, with the audit rows of both.
/// </summary>
public sealed class PostgreSqlWorkersTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task TwoWorkerProcessesOnTwoMailboxes_OneDatabase_NoMailLostOrDuplicated_AndBothAuditTrailsThere()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await PostgreSqlServer.StartAsync();
        var connection = await postgres.CreateDatabaseAsync("fleet");
        await using var north = await Dovecot.StartAsync();
        await using var south = await Dovecot.StartAsync();
        var servers = new Dictionary<string, Dovecot> { ["north"] = north, ["south"] = south };
        var appended = servers.Keys.ToDictionary(k => k, _ => 0);
        var workers = new List<WorkerProcess>();
        try
        {
            var first = 0;
            foreach (var (name, dovecot) in servers)
            {
                var data = Path.Combine(Data.FullName, name);
                DataDirectoryPermissions.Prepare(data); // private, as the worker requires
                // The connection string from the environment (appsettings.json may not hold its password).
                workers.Add(WorkerProcess.Start(dovecot, data, Model.ModelPath, 10, WorkerProcess.WarningsTo(output), new Dictionary<string, string>
                {
                    ["Mailboxes__0__Name"] = name,
                    ["State__Provider"] = "PostgreSql",
                    ["State__ConnectionString"] = connection,
                }));
                await dovecot.AppendAsync(Enumerable.Range(first, 40).Select(Mail));
                appended[name] += 40;
                first += 100;
            }
            // More mail while both write to the database.
            foreach (var (name, dovecot) in servers)
            {
                await dovecot.AppendAsync(Enumerable.Range(first, 20).Select(Mail));
                appended[name] += 20;
                first += 100;
            }
            var total = appended.Values.Sum();
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3") < total; await Task.Delay(250, ct))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(90), $"{Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3")} of {total} acknowledged");
                Assert.DoesNotContain(workers, w => w.HasExited);
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }

        foreach (var (name, dovecot) in servers)
        {
            // Every mail in exactly one folder, once, out of INBOX; the database has one acknowledged row per mail.
            var inventory = await dovecot.InventoryAsync();
            Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
            Assert.Equal(appended[name], inventory.Count);
            Assert.Equal(appended[name], inventory.Select(m => m.Fingerprint).Distinct().Count());
            var rows = Rows(connection, $"SELECT fingerprint FROM mail WHERE mailbox = '{name}' AND state = 3");
            Assert.Equal(appended[name], rows.Count);
            Assert.Equal(inventory.Select(m => m.Fingerprint).Order(), rows.Order());
            // Each mailbox was claimed by its own instance (the markers carry its id).
            var instances = Rows(connection, $"SELECT DISTINCT substr(marker, 1, {ImapMailbox.MarkerPrefix.Length + 8}) FROM mail WHERE mailbox = '{name}' AND marker IS NOT NULL");
            Assert.Single(instances);
        }
        Assert.NotEqual(Rows(connection, "SELECT DISTINCT substr(marker, 1, 20) FROM mail WHERE mailbox = 'north' AND marker IS NOT NULL"),
            Rows(connection, "SELECT DISTINCT substr(marker, 1, 20) FROM mail WHERE mailbox = 'south' AND marker IS NOT NULL"));
        // Every acknowledged mail's decision has its audit rows, from both instances.
        Assert.Equal(0, Count(connection, "SELECT COUNT(*) FROM mail m WHERE state = 3 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.decision_id = m.decision_id)"));
        Assert.Equal(["north", "south"], Rows(connection, "SELECT DISTINCT mailbox FROM audit ORDER BY mailbox"));
        Assert.Equal(appended.Values.Sum(), Count(connection, "SELECT COUNT(DISTINCT decision_id) FROM audit"));

        // The web app's reads on any instance show both mailboxes.
        using var store = new PostgreSqlStateStore(connection, "reader");
        using var examples = new ExampleStore(store);
        var queries = new OversightQueries(store, examples, new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath },
            () => Model.Bundle, null, TimeProvider.System);
        Assert.Equal(appended.Values.Sum(), queries.FindMail(new MailQuery(["north", "south"]), 0, 10).Total);
    }

    private static byte[] Mail(int i) => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i));

    private static int Count(string connection, string sql) => int.Parse(Rows(connection, sql).Single(), CultureInfo.InvariantCulture);

    private static List<string> Rows(string connection, string sql)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read())
        {
            result.Add(Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture)!);
        }
        return result;
    }
}
