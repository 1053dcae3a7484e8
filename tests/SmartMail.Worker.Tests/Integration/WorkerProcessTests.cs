using SmartMail.Worker.Tests.Reliability;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>The real worker process (SmartMail.Worker.dll) against a real Dovecot, killed with SIGKILL mid-batch.</summary>
public sealed class WorkerProcessTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{

    [Fact]
    public async Task KillDashNine_MidBatchThenRestart_EveryMailRoutedExactlyOnce()
    {
        const int MailCount = 300;
        await using var dovecot = await Dovecot.StartAsync();
        var checker = new MailboxChecker();
        checker.Append(await dovecot.AppendFingerprintedAsync(Enumerable.Range(0, MailCount).Select(i => System.Text.Encoding.UTF8.GetBytes(
            i % 3 == 0 ? Tests.Mails.Danish(i) : Tests.Mails.Space(i)))));
        var db = Path.Combine(Data.FullName, "state.db");

        // Batches of 20: many batches, so the kill lands mid-stream.
        using (var first = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, 20, Log))
        {
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) >= MailCount / 3, TimeSpan.FromSeconds(60));
            await first.KillAsync(); // SIGKILL: no shutdown, no flush, mid-batch
        }
        var atKill = WorkerProcess.Acknowledged(db);
        output.WriteLine($"killed after {atKill} of {MailCount} mails");
        Assert.InRange(atKill, 1, MailCount - 1);

        var sinceKill = System.Diagnostics.Stopwatch.StartNew();
        using (var second = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, 20, Log))
        {
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) > atKill, TimeSpan.FromSeconds(90));
            checker.Recovered(sinceKill.Elapsed);
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) == MailCount, TimeSpan.FromSeconds(90));
            await second.KillAsync();
        }

        var report = await checker.CheckAsync(dovecot, db);
        output.WriteLine(report.ToString());
        report.AssertClean();
    }

    private void Log(string line)
    {
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
