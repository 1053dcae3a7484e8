using System.Diagnostics;
using System.Globalization;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Reliability;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// Exactly-once routing across kill -9 on Exchange Online: the real worker process signs in with OAuth2 (a certificate, tokens
/// from the local authority) to the Exchange profile (no CONDSTORE: claims are plain STOREs behind the lease), is killed with
/// SIGKILL at a random moment or while mail is in flight, and restarted; every mail ends in exactly one folder once and the
/// ledger agrees. A shorter cousin of <see cref="RandomKillTests"/>.
/// </summary>
public sealed class ExchangeKillTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const int MailCount = 60;
    private const int Kills = 4;
    private const int BatchSize = 4;

    [Fact]
    public async Task KillMinus9_WhileRouting_OnExchangeWithOAuth2_EveryMailInExactlyOneFolderOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var total = Stopwatch.StartNew();
        await using var exchange = await ExchangeOnline.StartAsync(tokenLifetime: TimeSpan.FromSeconds(8));
        var db = Path.Combine(Data.FullName, "state.db");
        var checker = new MailboxChecker { Separator = ExchangeOnline.Separator };
        var unfinished = new List<string>();
        var perRun = MailCount / (Kills + 1);

        for (var k = 0; k < Kills; k++)
        {
            checker.Append(await exchange.Dovecot.AppendFingerprintedAsync(Enumerable.Range(checker.Appended, perRun).Select(Mail)));
            var acknowledgedBefore = WorkerProcess.Acknowledged(db);
            // Odd runs die at a random moment (sign-in, token request, reconcile, a batch); even runs as soon as the ledger shows
            // a mail claimed (marker stored) but not acknowledged, or else once routing has begun.
            var started = DateTimeOffset.UtcNow.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            var randomAt = TimeSpan.FromSeconds(0.5 + (random.NextDouble() * 4));
            using (var worker = WorkerProcess.Start(exchange.Dovecot, Data.FullName, Model.ModelPath, BatchSize, Log, exchange.WorkerSettings()))
            {
                var run = Stopwatch.StartNew();
                while (run.Elapsed < TimeSpan.FromSeconds(30)
                       && !(k % 2 == 1 ? run.Elapsed >= randomAt : InFlight(db, started) || WorkerProcess.Acknowledged(db) > acknowledgedBefore))
                {
                    await Task.Delay(5, ct);
                }
                await worker.KillAsync();
            }
            var left = WorkerProcess.Query(db, "SELECT COUNT(*) FROM mail WHERE state < 3").FirstOrDefault() ?? "0";
            unfinished.Add($"kill {k + 1}: {WorkerProcess.Acknowledged(db)} acknowledged, {left} unfinished");
        }

        checker.Append(await exchange.Dovecot.AppendFingerprintedAsync(Enumerable.Range(checker.Appended, MailCount - checker.Appended).Select(Mail)));
        using (var worker = WorkerProcess.Start(exchange.Dovecot, Data.FullName, Model.ModelPath, BatchSize, Log, exchange.WorkerSettings()))
        {
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) == MailCount, TimeSpan.FromMinutes(3));
            await worker.KillAsync();
        }

        var report = await checker.CheckAsync(exchange.Dovecot, db);
        output.WriteLine($"seed {seed}; {Kills} kills in {total.Elapsed.TotalSeconds:F0} s: {report}");
        output.WriteLine(string.Join("; ", unfinished));
        output.WriteLine(exchange.Summary());
        report.AssertClean();
        Assert.Equal(MailCount, report.Mails);
        // Every run that routed signed in with a token from the authority: the even runs (killed once routing had begun)
        // and the last one. An odd run killed at its random moment may die before it signs in on a loaded machine.
        var routingRuns = ((Kills + 1) / 2) + 1;
        var (oauth2Logins, _) = exchange.Logins();
        Assert.True(oauth2Logins >= routingRuns, $"{oauth2Logins} OAuth2 sign-ins for {routingRuns} runs that routed");
        Assert.True(exchange.Authority.TokenRequests >= routingRuns, $"{exchange.Authority.TokenRequests} token requests for {routingRuns} runs that routed");
        Assert.Equal(0, exchange.Authority.RefusedTokenRequests);
    }

    // A mail claimed in this run (marker stored) and not yet acknowledged.
    private static bool InFlight(string db, string startedUtc) =>
        WorkerProcess.Query(db, $"SELECT COUNT(*) FROM mail WHERE state < 3 AND marker IS NOT NULL AND updated_utc >= '{startedUtc}'").FirstOrDefault() is { } n && n != "0";

    private static byte[] Mail(int n) => System.Text.Encoding.UTF8.GetBytes((n % 3) switch
    {
        0 => Mails.Space(n),
        1 => Mails.Car(n),
        _ => Mails.Danish(n),
    });

    private void Log(string line)
    {
        // Warnings and errors only (five runs of information lines would drown them).
        if (!line.StartsWith("warn:", StringComparison.Ordinal) && !line.StartsWith("fail:", StringComparison.Ordinal) && !line.StartsWith("crit:", StringComparison.Ordinal))
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
