using System.Diagnostics;
using System.Globalization;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Reliability;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 0: crashes sent innocent mail to quarantine. The real worker process against a real Dovecot, default
/// batch size (500) and <c>MaxAttempts</c> (3). A kill from outside while a batch is in flight must quarantine nothing
/// (on 479f859 every mail of a batch caught by three kills went to quarantine); a real poison mail that kills the process
/// whenever it is extracted (the test-only hook <c>SMARTMAIL_TEST_CRASH_MARKER</c>) must go to quarantine alone.
/// </summary>
public sealed class CrashQuarantineTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const int BatchSize = 500; // the default

    [Fact]
    public async Task Kills_WhileABatchIsInFlight_QuarantineNothing()
    {
        const int mails = 600;
        const int kills = 6;
        var random = new Random(Environment.TickCount);
        await using var dovecot = await Dovecot.StartAsync();
        var db = Path.Combine(Data.FullName, "state.db");
        var checker = new MailboxChecker();
        checker.Append(await dovecot.AppendFingerprintedAsync(Enumerable.Range(0, mails).Select(Mail)));

        var landed = 0;
        for (var k = 0; k < kills; k++)
        {
            var started = DateTimeOffset.UtcNow.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            using var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, BatchSize, Log);
            // Kill while mail is in flight: once this run has begun a mail, after a random part of a second.
            var clock = Stopwatch.StartNew();
            while (!InFlight(db, started) && !worker.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }
            await Task.Delay(random.Next(0, 800), TestContext.Current.CancellationToken);
            landed += InFlight(db, started) ? 1 : 0;
            await worker.KillAsync();
        }
        using (var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, BatchSize, Log))
        {
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) == mails || worker.HasExited, TimeSpan.FromMinutes(5));
            await worker.KillAsync();
        }

        var report = await checker.CheckAsync(dovecot, db);
        output.WriteLine($"{kills} kills, {landed} with mail in flight: {report}");
        report.AssertClean();
        Assert.True(landed > 0, $"none of {kills} kills caught mail in flight"); // on 479f859 the same run quarantined every mail caught three times
        Assert.Equal(0, report.Quarantined);
    }

    [Fact]
    public async Task PoisonMail_AmidGoodOnes_IsQuarantinedAlone()
    {
        const int mails = 500;
        const int poisonAt = 250;
        var marker = "smartmail-poison-" + Guid.NewGuid().ToString("N");
        await using var dovecot = await Dovecot.StartAsync();
        var db = Path.Combine(Data.FullName, "state.db");
        var checker = new MailboxChecker();
        var fingerprints = await dovecot.AppendFingerprintedAsync(Enumerable.Range(0, mails).Select(n => n == poisonAt ? Poison(n, marker) : Mail(n)));
        checker.Append(fingerprints);
        var hook = new Dictionary<string, string> { ["SMARTMAIL_TEST_CRASH_MARKER"] = marker };

        var crashes = 0;
        while (WorkerProcess.Acknowledged(db) < mails)
        {
            Assert.True(crashes <= 20, $"{crashes} crashes and {WorkerProcess.Acknowledged(db)} of {mails} mails acknowledged");
            using var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, BatchSize, Log, environment: hook);
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) == mails || worker.HasExited, TimeSpan.FromMinutes(5));
            crashes += worker.HasExited ? 1 : 0;
            await worker.KillAsync();
        }

        var report = await checker.CheckAsync(dovecot, db);
        output.WriteLine($"{crashes} crashes: {report}");
        report.AssertClean();
        Assert.True(crashes > 0, "the poison mail never crashed the worker: the hook is not on");
        Assert.Equal(1, report.Quarantined);
        var poison = fingerprints[poisonAt];
        Assert.Equal(["_quarantine"], WorkerProcess.Query(db, $"SELECT destination FROM mail WHERE fingerprint = '{poison}'"));
        Assert.Equal(mails - 1, WorkerProcess.Query(db, "SELECT COUNT(*) FROM mail WHERE state = 3 AND destination <> '_quarantine'").Select(int.Parse).Single());
    }

    private static bool InFlight(string db, string startedUtc)
    {
        try
        {
            return WorkerProcess.Query(db, $"SELECT COUNT(*) FROM mail WHERE state < 2 AND updated_utc >= '{startedUtc}'").FirstOrDefault() is { } n && n != "0";
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return false; // the schema is being created
        }
    }

    private static byte[] Mail(int n) => System.Text.Encoding.UTF8.GetBytes(Tests.Mails.Mixed(n));

    private static byte[] Poison(int n, string marker) => System.Text.Encoding.UTF8.GetBytes(Tests.Mails.Car(n) + marker + "\r\n");

    private void Log(string line) => WorkerProcess.WarningsTo(output)(line);
}
