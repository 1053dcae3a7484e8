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
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3", orZero: true) < total; await Task.Delay(250, ct))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(90), $"{Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3", orZero: true)} of {total} acknowledged");
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

    // Two instances list the same mailbox on the shared database: the lease lets one work, the other stands by. The holder
    // is killed (SIGKILL) while it has mail claimed, and the database server restarts under both; a supervisor (as systemd's
    // Restart=always) starts any worker that has exited again. Every mail ends in one folder, once, acknowledged once.
    [Fact]
    public async Task TwoWorkerProcessesOnOneMailbox_HolderKilledAndDatabaseRestarted_NoMailLostOrDuplicated()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await PostgreSqlServer.StartAsync();
        var connection = await postgres.CreateDatabaseAsync("standby");
        await using var dovecot = await Dovecot.StartAsync();
        var names = new[] { "a", "b" };
        var workers = new Dictionary<string, WorkerProcess>();
        var restarts = 0;
        WorkerProcess Start(string name) => WorkerProcess.Start(dovecot, Path.Combine(Data.FullName, name), Model.ModelPath, 10, WorkerProcess.WarningsTo(output),
            new Dictionary<string, string>
            {
                ["Mailboxes__0__CommandTimeout"] = "00:00:03",
                ["Mailboxes__0__LeaseDuration"] = "00:00:06",
                ["State__Provider"] = "PostgreSql",
                ["State__ConnectionString"] = connection,
                ["State__InstanceId"] = name,
            });
        void Supervise()
        {
            foreach (var name in names.Where(n => workers[n].HasExited))
            {
                workers[name].Dispose();
                workers[name] = Start(name);
                restarts++;
            }
        }
        var appended = 0;
        try
        {
            foreach (var name in names)
            {
                DataDirectoryPermissions.Prepare(Path.Combine(Data.FullName, name));
                workers[name] = Start(name);
            }
            await dovecot.AppendAsync(Enumerable.Range(0, 80).Select(Mail));
            appended += 80;
            await Until(() => Acknowledged() >= 20, "20 routed");

            // The database server restarts while mail is routed.
            await postgres.StopAsync();
            await dovecot.AppendAsync(Enumerable.Range(80, 20).Select(Mail));
            appended += 20;
            await Task.Delay(1500, ct);
            await postgres.StartAgainAsync();
            await Until(() => Acknowledged() >= 60, "60 routed after the restart");

            // The holder is killed with mail claimed, if that moment comes; more mail arrives meanwhile.
            await dovecot.AppendAsync(Enumerable.Range(100, 40).Select(Mail));
            appended += 40;
            var holder = Rows(connection, "SELECT substr(marker, 12, 1) FROM mail WHERE marker IS NOT NULL ORDER BY updated_utc DESC LIMIT 1").Single();
            for (var wait = System.Diagnostics.Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(10) && Count(connection, "SELECT COUNT(*) FROM mail WHERE state < 3 AND marker IS NOT NULL") == 0;)
            {
                await Task.Delay(5, ct);
            }
            await workers[holder].KillAsync();
            output.WriteLine($"killed {holder} at {Acknowledged()} acknowledged");
            await Until(() => Acknowledged() >= appended, $"all {appended} acknowledged");
        }
        finally
        {
            foreach (var worker in workers.Values)
            {
                worker.Dispose();
            }
        }
        output.WriteLine($"{restarts} restarts by the supervisor");

        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(appended, inventory.Count);
        Assert.Equal(appended, inventory.Select(m => m.Fingerprint).Distinct().Count());
        Assert.Equal(appended, Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3"));
        Assert.Equal(appended, Count(connection, "SELECT COUNT(DISTINCT fingerprint) FROM mail WHERE state = 3"));
        Assert.Equal(inventory.Select(m => m.Fingerprint).Order(), Rows(connection, "SELECT fingerprint FROM mail WHERE state = 3").Order());
        Assert.Equal(0, Count(connection, "SELECT COUNT(*) FROM mail m WHERE state = 3 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.decision_id = m.decision_id)"));

        int Acknowledged() => Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3", orZero: true);

        async Task Until(Func<bool> condition, string what)
        {
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); !condition(); await Task.Delay(250, ct))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(180), $"not {what} within 180 s: {Acknowledged()} acknowledged");
                Supervise();
            }
        }
    }

    private static byte[] Mail(int i) => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i));

    private static int Count(string connection, string sql, bool orZero = false)
    {
        try
        {
            return int.Parse(Rows(connection, sql).Single(), CultureInfo.InvariantCulture);
        }
        catch (NpgsqlException) when (orZero)
        {
            return 0; // the server is restarting, or no worker has made the schema yet
        }
    }

    private static List<string> Rows(string connection, string sql) => PostgreSqlServer.Rows(connection, sql);
}
