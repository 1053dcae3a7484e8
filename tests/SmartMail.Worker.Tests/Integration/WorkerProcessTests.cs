using System.Diagnostics;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>The real worker process (SmartMail.Worker.dll) against a real Dovecot, killed with SIGKILL mid-batch.</summary>
public sealed class WorkerProcessTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{

    [Fact]
    public async Task KillDashNine_MidBatchThenRestart_EveryMailRoutedExactlyOnce()
    {
        const int MailCount = 300;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, MailCount).Select(i => System.Text.Encoding.UTF8.GetBytes(
            i % 3 == 0 ? Tests.Mails.Danish(i) : Tests.Mails.Space(i))));
        var db = Path.Combine(Data.FullName, "state.db");

        using (var first = StartWorker(dovecot))
        {
            await WaitUntil(() => Acknowledged(db) >= MailCount / 3, TimeSpan.FromSeconds(60));
            first.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush, mid-batch
            await first.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        var atKill = Acknowledged(db);
        output.WriteLine($"killed after {atKill} of {MailCount} mails");
        Assert.InRange(atKill, 1, MailCount - 1);

        using (var second = StartWorker(dovecot))
        {
            await WaitUntil(() => Acknowledged(db) == MailCount, TimeSpan.FromSeconds(90));
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(MailCount, inventory.Count);
        Assert.Equal(MailCount, inventory.Select(m => m.Fingerprint).Distinct().Count());
        Assert.All(inventory, m => Assert.Single(m.Keywords, k => k.StartsWith("$SmartMail_", StringComparison.Ordinal)));
        var decisions = Query(db, "SELECT fingerprint || ' ' || destination FROM audit WHERE outcome IN ('routed','manual','quarantined')");
        Assert.Equal(MailCount, decisions.Count);
        Assert.Equal(MailCount, decisions.Select(d => d.Split(' ')[0]).Distinct().Count());
        // Each mail sits in the folder its one decision names.
        var folderOf = inventory.ToDictionary(m => m.Fingerprint, m => m.Folder);
        Assert.All(decisions, d => Assert.Equal(d.Split(' ')[1].Replace('.', '_'), folderOf[d.Split(' ')[0]]));
    }

    private Process StartWorker(Dovecot dovecot)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SmartMail.Worker.dll");
        var psi = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Data.FullName,
        };
        var settings = new Dictionary<string, string>
        {
            ["DataDirectory"] = Data.FullName,
            ["ModelPath"] = Model.ModelPath,
            ["Mailboxes__0__Name"] = "proc",
            ["Mailboxes__0__Host"] = "127.0.0.1",
            ["Mailboxes__0__Port"] = dovecot.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mailboxes__0__Security"] = "None",
            ["Mailboxes__0__AllowPlaintext"] = "true",
            ["Mailboxes__0__Username"] = dovecot.User,
            ["Mailboxes__0__Password"] = dovecot.Password,
            ["Mailboxes__0__PollInterval"] = "00:00:01",
            ["Mailboxes__0__BatchSize"] = "20", // many batches, so the kill lands mid-stream
        };
        foreach (var (key, value) in settings)
        {
            psi.Environment["SMARTMAIL_SmartMail__" + key] = value;
        }
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => Log(e.Data);
        process.ErrorDataReceived += (_, e) => Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Log(string? line)
    {
        if (line is null)
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

    private static int Acknowledged(string db) => (int)LedgerQuery.Scalar(db, "SELECT COUNT(*) FROM mail WHERE state = 3");

    private static List<string> Query(string db, string sql) => LedgerQuery.Rows(db, sql);

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, $"condition not met within {timeout}");
            await Task.Delay(20);
        }
    }
}
