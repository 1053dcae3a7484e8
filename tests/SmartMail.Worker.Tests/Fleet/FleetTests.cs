using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Reliability;
using SmartMail.Worker.Tests.StateStores;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Worker.Tests.Fleet;

/// <summary>
/// The fleet of issue 23: three real worker processes on one PostgreSQL database, each configured with all six mailboxes
/// (three accounts on each of two Dovecot servers), so the IMAP lease decides who works which. Mail arrives over time in all
/// six while a random worker is killed with SIGKILL at a random moment, twenty times, each restarted, and the database
/// server is restarted once in the middle. Then: every mail is in exactly one destination once, the ledger's rows and the
/// audit rows in the database agree with the servers (MailboxChecker, one mailbox at a time), and the web app of a
/// surviving instance shows all six mailboxes. <c>SMARTMAIL_FLEET_SEED</c> reproduces a run's schedule;
/// <c>SMARTMAIL_FLEET_LOGS=DIR</c> keeps every worker's whole log there (DIR/w0.log, ...).
/// </summary>
public sealed partial class FleetTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const int Workers = 3;
    private const int AccountsPerServer = 3;
    private const int Kills = 20;
    private const int Rounds = 5;           // mail arrives in this many rounds...
    private const int PerRound = 8;         // ...of this many mails per mailbox: 6 × 40 = 240 mails
    private const int BatchSize = 1;        // a claim, a move and an acknowledgement per mail: the workers are busy for a while each round
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task ThreeWorkersOnSixMailboxes_TwentyKillsAndADatabaseRestart_NoMailLostOrDuplicated_EveryAuditRow_SurvivorShowsAllMailboxes()
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SMARTMAIL_FLEET_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        var random = new Random(seed);
        output.WriteLine($"seed {seed} (SMARTMAIL_FLEET_SEED reproduces the schedule)");
        var clock = Stopwatch.StartNew();

        await using var postgres = await PostgreSqlServer.StartAsync();
        var connection = await postgres.CreateDatabaseAsync("fleet");
        await using var north = await Dovecot.StartAsync(accounts: AccountsPerServer);
        await using var south = await Dovecot.StartAsync(accounts: AccountsPerServer);
        var mailboxes = new[] { ("north", north), ("south", south) }
            .SelectMany(server => Enumerable.Range(0, AccountsPerServer).Select(account => new Mailbox($"{server.Item1}-{account}", server.Item2, account)))
            .ToList();
        var fleet = new Fleet(Data.FullName, Model.ModelPath, output, mailboxes, connection);
        var kills = new List<string>();
        var caughtClaiming = 0;
        try
        {
            fleet.StartAll();
            for (var k = 0; k < Kills; k++)
            {
                if (k % (Kills / Rounds) == 0)
                {
                    await ArriveAsync(mailboxes, k / (Kills / Rounds)); // a round of mail every fourth kill
                }
                if (k == Kills / 2)
                {
                    // The database server restarts under the fleet, mail still arriving.
                    await postgres.StopAsync();
                    await fleet.PauseAsync(TimeSpan.FromMilliseconds(random.Next(500, 2000)), ct);
                    await postgres.StartAgainAsync();
                    output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: PostgreSQL restarted");
                }
                await fleet.PauseAsync(TimeSpan.FromMilliseconds(random.Next(300, 2500)), ct);
                // Every other kill goes to a worker that claimed mail since it started and has not finished it, if one does within 4 s;
                // the others to a random worker that is up (its web app listens), whatever it is doing.
                var victim = k % 2 == 1 ? await fleet.ClaimHolderAsync(TimeSpan.FromSeconds(4), ct) : null;
                caughtClaiming += victim is null ? 0 : 1;
                victim ??= await fleet.RunningWorkerAsync(random, ct);
                var inFlight = fleet.InFlight();
                await fleet.KillAsync(victim);
                kills.Add($"{victim}@{clock.Elapsed.TotalSeconds:F0}s/{inFlight}");
                await Task.Delay(random.Next(0, 1000), ct); // down a moment, then its supervisor starts it again
                fleet.Restart(victim);
            }
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {Kills} kills done, {caughtClaiming} of them of a worker with mail claimed " +
                $"(worker@time/mails unfinished in the ledger): {string.Join(" ", kills)}");
            // How many kills caught a claim depends on the machine: under load a worker takes long to start, and a kill often finds
            // it starting or standing by; so it is reported, not required (Reliability/RandomKillTests aims kills at each step).

            // Everything routed: each mailbox's rows all acknowledged, as many as were appended.
            var total = mailboxes.Sum(m => m.Appended.Count);
            var draining = Stopwatch.StartNew();
            await fleet.UntilAsync(() => fleet.Acknowledged() == total && fleet.InFlight() == 0, Deadline, $"all {total} acknowledged", ct);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: all {total} acknowledged ({draining.Elapsed.TotalSeconds:F1} s after the last kill); " +
                $"{fleet.Exits} exits restarted by the supervisor besides the kills");

            // The web app of a surviving instance shows every mailbox, from the shared database.
            var page = await fleet.OverviewAsync(ct);
            Assert.Equal(mailboxes.Count, MailboxCard().Count(page));
            foreach (var mailbox in mailboxes)
            {
                Assert.Contains($"data-mailbox=\"{mailbox.Name}\"", page, StringComparison.Ordinal);
            }
        }
        finally
        {
            fleet.Dispose();
        }

        // Each mailbox: every appended mail in exactly one destination once, carrying its row's marker; each row acknowledged;
        // each decision audited once (and its decision record valid).
        await using (var ledger = new NpgsqlConnection(connection))
        {
            foreach (var mailbox in mailboxes)
            {
                var checker = new MailboxChecker();
                checker.Append(mailbox.Appended);
                var report = await checker.CheckAsync(mailbox.Server, ledger, mailbox.Account, mailbox.Name);
                output.WriteLine($"{mailbox.Name}: {report}");
                report.AssertClean();
                Assert.Equal(Rounds * PerRound, report.Mails);
            }
        }
        // No row or decision outside the six mailboxes; which instances worked (a restarted holder resumes its own leases at once).
        Assert.Equal(mailboxes.Count * Rounds * PerRound, Count(connection, "SELECT COUNT(*) FROM mail WHERE state = 3"));
        Assert.Equal(mailboxes.Count * Rounds * PerRound, Count(connection, "SELECT COUNT(*) FROM mail"));
        Assert.Equal(mailboxes.Count * Rounds * PerRound,
            Count(connection, "SELECT COUNT(DISTINCT decision_id) FROM audit WHERE outcome IN ('routed', 'manual', 'quarantined')"));
        Assert.Equal(0, Count(connection, "SELECT COUNT(*) FROM mail m WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.decision_id = m.decision_id)"));
        var workedBy = PostgreSqlServer.Rows(connection, $"SELECT DISTINCT substr(marker, {ImapMailbox.MarkerPrefix.Length + 1}, 2) FROM mail WHERE marker IS NOT NULL");
        output.WriteLine($"claims by {string.Join(", ", workedBy.Order(StringComparer.Ordinal))}; audit outcomes: " + string.Join(", ",
            PostgreSqlServer.Rows(connection, "SELECT outcome || ' ' || COUNT(*) FROM audit GROUP BY outcome ORDER BY outcome")));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s in all");
    }

    // One round of mail in every mailbox (distinct mails throughout); each mail's fingerprint as the server stores it.
    private static async Task ArriveAsync(List<Mailbox> mailboxes, int round)
    {
        for (var m = 0; m < mailboxes.Count; m++)
        {
            var first = ((round * mailboxes.Count) + m) * PerRound;
            mailboxes[m].Appended.AddRange(await mailboxes[m].Server.AppendFingerprintedAsync(
                Enumerable.Range(first, PerRound).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Mixed(i))), mailboxes[m].Account, staged: true));
        }
    }

    private static int Count(string connection, string sql) => int.Parse(PostgreSqlServer.Rows(connection, sql).Single(), CultureInfo.InvariantCulture);

    [GeneratedRegex("data-testid=\"mailbox-card\"")]
    private static partial Regex MailboxCard();

    /// <summary>One mailbox: a Dovecot account, and the fingerprints appended to it.</summary>
    private sealed record Mailbox(string Name, Dovecot Server, int Account)
    {
        public List<string> Appended { get; } = [];
    }

    /// <summary>
    /// The worker processes, each with its own data directory, instance id (w0, w1, w2) and web app on a free port, all on
    /// one database and all six mailboxes. A supervisor (as systemd's <c>Restart=always</c>) starts again any worker that
    /// exited by itself (e.g. while the database was down); <see cref="Exits"/> counts those.
    /// </summary>
    private sealed class Fleet(string root, string modelPath, ITestOutputHelper output, List<Mailbox> mailboxes, string connection) : IDisposable
    {
        private readonly Dictionary<string, WorkerProcess> _workers = [];
        private readonly Dictionary<string, Stopwatch> _uptime = [];
        private readonly Dictionary<string, string> _startedUtc = [];

        public int Exits { get; private set; }

        public static string Name(int index) => "w" + index.ToString(CultureInfo.InvariantCulture);

        public void StartAll()
        {
            for (var i = 0; i < Workers; i++)
            {
                DataDirectoryPermissions.Prepare(Data(Name(i)));
                Restart(Name(i));
            }
        }

        public void Restart(string name)
        {
            if (_workers.Remove(name, out var old))
            {
                old.Dispose();
            }
            // The sign-in link file is the running process's: a new one is written once its web app listens.
            File.Delete(Path.Combine(Data(name), WebHostService.SignInLinkFile));
            var settings = new Dictionary<string, string>
            {
                ["State__Provider"] = "PostgreSql",
                ["State__ConnectionString"] = connection,
                ["State__InstanceId"] = name,
            };
            for (var i = 0; i < mailboxes.Count; i++)
            {
                var (mailbox, options) = (mailboxes[i], mailboxes[i].Server.Options(mailboxes[i].Name, mailboxes[i].Account));
                var prefix = $"Mailboxes__{i.ToString(CultureInfo.InvariantCulture)}__";
                settings[prefix + "Name"] = mailbox.Name;
                settings[prefix + "Host"] = options.Host;
                settings[prefix + "Port"] = options.Port.ToString(CultureInfo.InvariantCulture);
                settings[prefix + "Security"] = "None";
                settings[prefix + "AllowPlaintext"] = "true";
                settings[prefix + "Username"] = options.Username;
                settings[prefix + "Password"] = options.Password!;
                settings[prefix + "PollInterval"] = "00:00:01";
                settings[prefix + "BatchSize"] = BatchSize.ToString(CultureInfo.InvariantCulture);
                // A restarted worker resumes its own leases at once; another takes over a dead one's after LeaseDuration.
                settings[prefix + "CommandTimeout"] = "00:00:05";
                settings[prefix + "LeaseDuration"] = "00:00:15";
            }
            var warnings = WorkerProcess.WarningsTo(output);
            var logs = Environment.GetEnvironmentVariable("SMARTMAIL_FLEET_LOGS") is { Length: > 0 } dir ? Path.Combine(dir, name + ".log") : null;
            _workers[name] = WorkerProcess.Start(mailboxes[0].Server, Data(name), modelPath, BatchSize, line =>
            {
                warnings(line);
                if (logs is not null)
                {
                    lock (_workers)
                    {
                        File.AppendAllText(logs, $"{DateTime.UtcNow:HH:mm:ss.fff} {line}\n");
                    }
                }
            }, settings);
            _uptime[name] = Stopwatch.StartNew();
            _startedUtc[name] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture); // as the ledger writes times
        }

        public async Task KillAsync(string name) => await _workers[name].KillAsync();

        /// <summary>A random worker among those up (the web app listens: its link file is there), once one is.</summary>
        public async Task<string> RunningWorkerAsync(Random random, CancellationToken ct)
        {
            List<string> up = [];
            await UntilAsync(() => (up = [.. _workers.Keys.Order(StringComparer.Ordinal).Where(IsUp)]).Count > 0, Deadline, "a worker up", ct);
            return up[random.Next(up.Count)];
        }

        private bool IsUp(string name) => !_workers[name].HasExited && File.Exists(Path.Combine(Data(name), WebHostService.SignInLinkFile));

        /// <summary>Waits <paramref name="time"/>, restarting any worker that exited by itself meanwhile.</summary>
        public async Task PauseAsync(TimeSpan time, CancellationToken ct)
        {
            for (var waited = Stopwatch.StartNew(); waited.Elapsed < time; await Task.Delay(50, ct))
            {
                Supervise();
            }
        }

        /// <summary>Polls <paramref name="condition"/> (supervising meanwhile); fails the test after <paramref name="timeout"/>.</summary>
        public async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken ct)
        {
            for (var waited = Stopwatch.StartNew(); !condition(); await Task.Delay(250, ct))
            {
                Assert.True(waited.Elapsed < timeout, $"not {what} within {timeout.TotalSeconds} s: {Acknowledged()} acknowledged, {InFlight()} in flight");
                Supervise();
            }
        }

        /// <summary>A worker that has claimed a mail since it started and not yet acknowledged it, once one has (null if none
        /// within <paramref name="timeout"/>); claims a dead process left behind do not count.</summary>
        public async Task<string?> ClaimHolderAsync(TimeSpan timeout, CancellationToken ct)
        {
            try
            {
                // One connection polled every few milliseconds: a claim lasts from its marker's commit to the acknowledgement.
                await using var db = new NpgsqlConnection(connection);
                await db.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand($"SELECT substr(marker, {ImapMailbox.MarkerPrefix.Length + 1}, 2) AS holder, MAX(updated_utc) FROM mail " +
                    "WHERE state IN (1, 2) AND marker IS NOT NULL GROUP BY holder", db);
                for (var waited = Stopwatch.StartNew(); waited.Elapsed < timeout; await Task.Delay(2, ct))
                {
                    await using var reader = await cmd.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        if (_startedUtc.TryGetValue(reader.GetString(0), out var started) && string.CompareOrdinal(reader.GetString(1), started) >= 0)
                        {
                            return reader.GetString(0);
                        }
                    }
                }
            }
            catch (NpgsqlException)
            {
                // the server is restarting
            }
            return null;
        }

        public int Acknowledged() => Number(Query("SELECT COUNT(*) FROM mail WHERE state = 3"));

        /// <summary>Mails seen, decided or delivered but not acknowledged (-1 while the database is unreachable).</summary>
        public int InFlight() => Number(Query("SELECT COUNT(*) FROM mail WHERE state < 3"));

        /// <summary>Signs in to the web app of the worker up longest with its one-time link and returns the overview page.</summary>
        public async Task<string> OverviewAsync(CancellationToken ct)
        {
            var (name, _) = _uptime.Where(u => IsUp(u.Key)).DefaultIfEmpty(_uptime.MaxBy(u => u.Value.Elapsed)).MaxBy(u => u.Value.Elapsed);
            var linkFile = Path.Combine(Data(name), WebHostService.SignInLinkFile);
            await UntilAsync(() => File.Exists(linkFile), TimeSpan.FromMinutes(1), $"{name}'s web app listening", ct);
            var link = (await File.ReadAllTextAsync(linkFile, ct)).Trim();
            using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(1) };
            using var response = await http.GetAsync(new Uri(link), ct); // signs in, then redirects to the overview
            var page = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}'s overview answered {response.StatusCode}");
            Assert.Equal("/", response.RequestMessage!.RequestUri!.AbsolutePath);
            output.WriteLine($"web app of {name} (up {_uptime[name].Elapsed.TotalSeconds:F0} s) shows the overview");
            return page;
        }

        public void Dispose()
        {
            foreach (var worker in _workers.Values)
            {
                worker.Dispose();
            }
            _workers.Clear();
        }

        private void Supervise()
        {
            foreach (var name in _workers.Where(w => w.Value.HasExited).Select(w => w.Key).ToList())
            {
                Exits++;
                Restart(name);
            }
        }

        private string Data(string name) => Path.Combine(root, name);

        private List<string> Query(string sql)
        {
            try
            {
                return PostgreSqlServer.Rows(connection, sql);
            }
            catch (NpgsqlException)
            {
                return []; // the server is restarting
            }
        }

        private static int Number(List<string> rows) => rows.Count == 1 ? int.Parse(rows[0], CultureInfo.InvariantCulture) : -1;
    }
}
