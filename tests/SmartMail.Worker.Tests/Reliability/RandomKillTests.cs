using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Reliability;

/// <summary>
/// The real worker process against a real Dovecot, killed with SIGKILL again and again while it routes, restarted after
/// each kill. Kills take turns: at a random moment after start (start-up, reconcile, a batch, idle), or, once the run routed
/// its first mail, as soon as the ledger shows a mail at a step boundary (seen, decided, claimed, delivered). Recovery time
/// is kill → the first mail acknowledged after it. The CI run does 50 kills;
/// <c>tests/soak/run.sh</c> sets <c>SMARTMAIL_SOAK_KILLS</c> for the long one.
/// </summary>
public sealed class RandomKillTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const int CiKills = 50;
    private const int PerRun = 12; // mails kept waiting for each run
    private const int BatchSize = 4; // several batches per run: more boundaries to land on

    private const string Idle = "none (all acknowledged)";

    private static readonly string[] Targets = ["random", "seen", "decided", "claimed", "delivered"];

    [Fact]
    public async Task RandomKills_WhileRouting_EveryMailInExactlyOneDestinationOnce()
    {
        var kills = Setting("SMARTMAIL_SOAK_KILLS", CiKills);
        var mailCount = Setting("SMARTMAIL_SOAK_MAILS", kills * 8);
        var seed = Setting("SMARTMAIL_SOAK_SEED", Random.Shared.Next());
        // A soak may get a time budget instead: it stops killing when the budget is spent and checks what it did.
        var budget = TimeSpan.FromMinutes(Setting("SMARTMAIL_SOAK_MINUTES", int.MaxValue / 60_000));
        var random = new Random(seed);
        output.WriteLine($"{kills} kills, {mailCount} mails, seed {seed} (SMARTMAIL_SOAK_SEED reproduces the kill schedule)");
        var total = Stopwatch.StartNew();
        await using var dovecot = await Dovecot.StartAsync();
        var db = Path.Combine(Data.FullName, "state.db");
        var checker = new MailboxChecker();
        var left = new Dictionary<string, int>(StringComparer.Ordinal); // what each kill left unfinished
        var hits = Targets.ToDictionary(t => t, _ => 0);
        var clock = Stopwatch.StartNew();
        TimeSpan? lastKill = null;
        var acknowledgedAtKill = 0;

        async Task TopUpAsync(int wanted)
        {
            var count = Math.Min(wanted - (checker.Appended - WorkerProcess.Acknowledged(db)), mailCount - checker.Appended);
            if (count > 0)
            {
                checker.Append(await dovecot.AppendFingerprintedAsync(Enumerable.Range(checker.Appended, count).Select(Mail)));
            }
        }

        // While the worker runs: note when routing resumed after the last kill, and say when the kill condition holds. A kill
        // aimed at a step waits until routing resumed (so each run also measures a recovery); a random one does not.
        bool Watch(SqliteConnection? ledger, Func<SqliteConnection, bool> condition, bool afterRecovery)
        {
            if (ledger is null)
            {
                return false;
            }
            if (lastKill is { } killedAt && Acknowledged(ledger) > acknowledgedAtKill)
            {
                checker.Recovered(clock.Elapsed - killedAt);
                lastKill = null;
            }
            // With nothing left to route the target cannot be reached in this run: kill now (an idle kill).
            return ((lastKill is null || !afterRecovery) && condition(ledger)) || Acknowledged(ledger) == checker.Appended;
        }

        for (var k = 0; k < kills; k++)
        {
            if (total.Elapsed > budget)
            {
                output.WriteLine($"time budget of {budget.TotalMinutes:F0} minutes spent after {k} kills");
                kills = k;
                break;
            }
            await TopUpAsync(PerRun);
            var target = Targets[k % Targets.Length];
            var started = DateTimeOffset.UtcNow.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            var condition = Condition(target, started, random);
            using (var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, BatchSize, Log))
            {
                SqliteConnection? ledger = null;
                try
                {
                    var run = Stopwatch.StartNew();
                    // A target not reached in 10 s (the run had no mail at that step) falls back to a kill at that moment.
                    while (!Watch(ledger ??= Open(db), condition, target != "random") && run.Elapsed < TimeSpan.FromSeconds(10))
                    {
                        await Task.Delay(1, TestContext.Current.CancellationToken);
                    }
                    hits[target] += condition(ledger!) ? 1 : 0;
                    await worker.KillAsync();
                }
                finally
                {
                    ledger?.Dispose();
                }
            }
            lastKill = clock.Elapsed;
            acknowledgedAtKill = WorkerProcess.Acknowledged(db);
            foreach (var state in UnfinishedSteps(db))
            {
                left[state] = left.GetValueOrDefault(state) + 1;
            }
        }

        // The last run: all remaining mail, no kill until everything is routed.
        await TopUpAsync(mailCount);
        using (var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, BatchSize, Log))
        using (var ledger = Open(db))
        {
            await WorkerProcess.WaitUntil(() =>
            {
                Watch(ledger, _ => false, afterRecovery: false);
                return Acknowledged(ledger!) == mailCount;
            }, TimeSpan.FromMinutes(5));
            await worker.KillAsync();
        }

        var report = await checker.CheckAsync(dovecot, db);
        output.WriteLine($"{kills} kills in {total.Elapsed.TotalSeconds:F0} s: {report}");
        output.WriteLine("targets reached: " + string.Join(", ", hits.Select(h => $"{h.Key} {h.Value}")));
        output.WriteLine("kills that left mail unfinished at: " + string.Join(", ", left.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key} {l.Value}")));
        report.AssertClean();
        Assert.Equal(mailCount, report.Mails);
        // Kills landed mid-protocol and between mails (what the ledger held right after each is reported above). Which steps
        // they caught depends on timing: "delivered" lasts one commit, "seen" one batch's classification; on a loaded machine
        // the worker often moves on between the test seeing a step and the kill. So the spread is reported, not required.
        Assert.True(kills - left.GetValueOrDefault(Idle) >= kills / 10, "fewer than one kill in ten left mail unfinished");
        Assert.True(left.GetValueOrDefault(Idle) > 0, "no kill found everything acknowledged");
    }

    // When to kill: a random moment in the first 2.5 s after start, or as soon as a mail reached the target step in this run.
    private static Func<SqliteConnection, bool> Condition(string target, string startedUtc, Random random)
    {
        if (target == "random")
        {
            var at = Stopwatch.GetTimestamp() + (long)(random.NextDouble() * 2.5 * Stopwatch.Frequency);
            return _ => Stopwatch.GetTimestamp() >= at;
        }
        var where = target switch
        {
            "seen" => "state = 0",
            "decided" => "state = 1 AND marker IS NULL",
            "claimed" => "state = 1 AND marker IS NOT NULL",
            _ => "state = 2",
        };
        return ledger =>
        {
            using var cmd = ledger.CreateCommand();
            cmd.CommandText = $"SELECT EXISTS (SELECT 1 FROM mail WHERE {where} AND updated_utc >= $t)";
            cmd.Parameters.AddWithValue("$t", startedUtc);
            try
            {
                return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 1;
            }
            catch (SqliteException)
            {
                return false; // the schema is being created
            }
        };
    }

    // The steps at which the last kill left mail: seen, decided, claimed (marker recorded, not delivered), delivered; or none.
    private static List<string> UnfinishedSteps(string db)
    {
        var steps = WorkerProcess.Query(db, "SELECT DISTINCT CASE WHEN state = 0 THEN 'seen' WHEN state = 1 AND marker IS NULL THEN 'decided' " +
            "WHEN state = 1 THEN 'claimed' ELSE 'delivered' END FROM mail WHERE state < 3");
        return steps.Count == 0 ? [Idle] : steps;
    }

    private static int Acknowledged(SqliteConnection ledger)
    {
        using var cmd = ledger.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM mail WHERE state = 3";
        try
        {
            return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return 0; // the first run is creating the schema
        }
    }

    private static SqliteConnection? Open(string db)
    {
        if (!File.Exists(db))
        {
            return null;
        }
        var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    private static byte[] Mail(int n) => System.Text.Encoding.UTF8.GetBytes(Tests.Mails.Mixed(n));

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    // Warnings and errors of the worker only: 50 runs of information lines would drown them.
    private void Log(string line)
    {
        if (line.StartsWith("info:", StringComparison.Ordinal) || line.StartsWith("dbug:", StringComparison.Ordinal))
        {
            return;
        }
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }
}
