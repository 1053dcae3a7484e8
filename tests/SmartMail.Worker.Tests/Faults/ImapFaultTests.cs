using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// Network and server faults between the worker and a real Dovecot, injected by <see cref="FaultProxy"/> at a chosen moment.
/// Each run ends with the exactly-once check: every appended mail in exactly one destination, by fingerprint, and the ledger agrees.
/// </summary>
public sealed class ImapFaultTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private IntegrationTestContext Context => new(Data.FullName, Model, output);

    private static IEnumerable<string> MailsFrom(int first, int count) =>
        Enumerable.Range(first, count).Select(i => (i % 3) switch { 0 => Mails.Space(i), 1 => Mails.Car(i), _ => Mails.Danish(i) });

    [Fact]
    public async Task DovecotRestartedMidFetch_WorkerReconnects_EveryMailRoutedOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FaultRig.StartAsync(Context);
        rig.Mailbox.BatchSize = 20;
        await rig.AppendAsync(MailsFrom(0, 60));
        // The server dies while the bodies of the first batch stream in: the client has the start of a literal, then EOF.
        var fault = rig.Proxy.Arm(new Fault { Flow = Flow.ServerToClient, Pattern = "BODY[] {", Action = FaultAction.Cut, While = rig.Dovecot.RestartAsync });

        await rig.StartWorkerAsync(ct);
        await fault.Fired.WaitAsync(TimeSpan.FromSeconds(60), ct);
        var recovery = await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 60, TimeSpan.FromSeconds(90), "every mail routed after the restart");

        var tally = await rig.StopAndTallyAsync(ct);
        FaultReport.Write(output, "restart mid-FETCH", tally, recovery);
        tally.AssertExactlyOnce();
        Assert.Contains(rig.Log.Lines, l => l.Level == LogLevel.Warning && l.Line.Contains("connection lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DovecotRestartedMidIdle_WorkerNoticesAtOnce_MailArrivingAfterIsRouted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FaultRig.StartAsync(Context);
        rig.Mailbox.PollInterval = TimeSpan.FromMinutes(10); // only IDLE (or noticing its loss) can wake the worker in time
        await rig.AppendAsync(MailsFrom(100, 10));
        await rig.StartWorkerAsync(ct);
        await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 10, TimeSpan.FromSeconds(60), "the first mails routed");
        await Task.Delay(1000, ct); // the moves' EXPUNGE notices have ended their IDLEs: the worker now IDLEs with nothing to do

        await rig.Dovecot.RestartAsync();
        var stopwatch = Stopwatch.StartNew();
        await rig.AppendAsync(MailsFrom(110, 10));
        await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 20, TimeSpan.FromSeconds(60), "mail appended after the restart routed");

        var tally = await rig.StopAndTallyAsync(ct);
        FaultReport.Write(output, "restart mid-IDLE", tally, stopwatch.Elapsed);
        tally.AssertExactlyOnce();
    }

    [Fact]
    public async Task LinkBlackHoledDuringIdle_LongerThanCommandTimeout_WorkerTimesOutReconnectsAndRoutesMailThatArrivedMeanwhile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FaultRig.StartAsync(Context);
        rig.Mailbox.PollInterval = TimeSpan.FromMinutes(10);
        rig.Mailbox.CommandTimeout = TimeSpan.FromSeconds(2);
        rig.Mailbox.IdleRestart = TimeSpan.FromSeconds(3);
        await rig.StartWorkerAsync(ct);
        await FaultRig.WaitUntilAsync(() => rig.Proxy.Accepted >= 2, TimeSpan.FromSeconds(30), "work and IDLE connections up");
        // A partition while the worker IDLEs: every connection (and every new one) stays open, and nothing arrives.
        var fault = rig.Proxy.Arm(new Fault { Flow = Flow.ClientToServer, Pattern = "IDLE", Action = FaultAction.BlackHole, While = () => Task.Run(rig.Proxy.BlackHoleAll) });
        await fault.Fired.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var partition = Stopwatch.StartNew();
        await rig.AppendAsync(MailsFrom(200, 15)); // straight to the server: mail keeps arriving during the partition

        var noticed = await FaultRig.WaitUntilAsync(() => rig.Log.Lines.Any(l => l.Line.Contains("connection lost", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the worker notices the dead link");
        output.WriteLine($"dead link noticed after {partition.ElapsedMilliseconds} ms");
        await Task.Delay(TimeSpan.FromSeconds(8) - partition.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero, ct);
        rig.Proxy.Heal();
        var recovery = await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 15, TimeSpan.FromSeconds(60), "mail from the partition routed after it heals");

        var tally = await rig.StopAndTallyAsync(ct);
        FaultReport.Write(output, "black-holed during IDLE (8 s, timeout 2 s)", tally, recovery);
        tally.AssertExactlyOnce();
        Assert.True(noticed < TimeSpan.FromSeconds(15), $"noticed after {noticed}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectionResetDuringUidMove_EachMailEndsUpInExactlyOnePlace(bool serverMovedTheMail)
    {
        var action = serverMovedTheMail ? FaultAction.ResetAfterReply : FaultAction.Reset;
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await FaultRig.StartAsync(Context);
        rig.Mailbox.BatchSize = 10;
        await rig.AppendAsync(MailsFrom(300, 30));
        // Reset: the MOVE never reaches the server. ResetAfterReply: the server moves the mail, the worker never hears.
        var fault = rig.Proxy.Arm(new Fault { Flow = Flow.ClientToServer, Pattern = "UID MOVE", Action = action });

        await rig.StartWorkerAsync(ct);
        await fault.Fired.WaitAsync(TimeSpan.FromSeconds(60), ct);
        var recovery = await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 30, TimeSpan.FromSeconds(60), "every mail routed after the reset");

        var tally = await rig.StopAndTallyAsync(ct);
        FaultReport.Write(output, $"reset during UID MOVE ({action})", tally, recovery);
        tally.AssertExactlyOnce();
        if (action == FaultAction.ResetAfterReply)
        {
            using var store = new State.SqliteStateStore(rig.StorePath);
            Assert.Contains(store.ReadAudit(), a => a.Source == "recovery"); // the reconciler found the moved mail by its marker
        }
    }
}
