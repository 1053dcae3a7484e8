using System.Text.Json;
using SmartMail.Core.Privacy;
using SmartMail.Core.Routing;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests;

public sealed class MailProcessorTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public async Task Drain_MixedInbox_RoutesAndSendsToManualTriageEachOnce()
    {
        // Thresholds of 0.9 for every label, so the outcome does not hang on the shipped model's own thresholds.
        var strict = new SmartMail.Core.Classification.ModelBundle(model.Bundle.Model, model.Bundle.Manifest with
        {
            Labels = [.. model.Bundle.Manifest.Labels.Select(l => l with { Threshold = 0.9f })],
        });
        using var world = new TestWorld(strict);
        world.Drop("1.eml", Mails.Space(1));
        world.Drop("2.eml", Mails.Danish(2));
        world.Drop("3.eml", Mails.NotMime);

        var outcomes = await world.DrainAsync();

        // Mail SmartMail cannot parse is not poison: it goes to manual triage too.
        Assert.Equal([ProcessOutcome.Routed, ProcessOutcome.Manual, ProcessOutcome.Manual], outcomes);
        Assert.Empty(Directory.GetFiles(world.InboxPath));
        Assert.Single(Directory.GetFiles(Path.Combine(world.JournalPath, "sci.space"), "*.eml"));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(world.JournalPath, "_manual-triage"), "*.eml").Length);
        Assert.False(Directory.Exists(Path.Combine(world.JournalPath, "_quarantine")));
        var audit = world.Store.ReadAudit();
        Assert.Equal(["model", "manual", "manual"], audit.Select(a => a.Source));
        Assert.All(audit, a => Assert.Equal(64, a.Fingerprint.Length));
        Assert.Equal(model.Bundle.Manifest.ModelVersion, audit[0].ModelVersion);
        Assert.Equal(3, world.Store.CountByState()[MailState.Acknowledged]);
    }

    [Fact]
    public async Task Drain_JournalPair_IsTheOriginalBytesAndAReadableDecision()
    {
        using var world = new TestWorld(model.Bundle);
        var original = System.Text.Encoding.UTF8.GetBytes(Mails.Space(7));
        world.Drop("7.eml", original);

        await world.DrainAsync();

        var eml = Assert.Single(world.JournalFiles("*.eml"));
        Assert.Equal(original, File.ReadAllBytes(eml));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(eml, ".json")));
        var root = json.RootElement;
        Assert.Equal(Path.GetFileNameWithoutExtension(eml), root.GetProperty("decisionId").GetString());
        Assert.Equal("sci.space", root.GetProperty("label").GetString());
        Assert.Equal("model", root.GetProperty("source").GetString());
        Assert.Equal(3, root.GetProperty("top").GetArrayLength());
        Assert.Equal("space-7@example.org", root.GetProperty("messageId").GetString());
        Assert.Empty(world.JournalFiles("*.tmp"));
    }

    [Theory]
    [InlineData(CrashPoint.BeforeDeliver)]
    [InlineData(CrashPoint.AfterDeliver)]
    [InlineData(CrashPoint.BeforeAcknowledge)]
    [InlineData(CrashPoint.AfterAcknowledge)]
    public async Task Crash_AtEachStepBoundary_ResumesWithoutLossOrDuplicate(CrashPoint point)
    {
        using var world = new TestWorld(model.Bundle);
        for (var i = 0; i < 3; i++)
        {
            world.Drop($"{i}.eml", Mails.Space(i));
        }

        await world.CrashThenRecoverAsync(point);

        Assert.Empty(Directory.GetFiles(world.InboxPath));
        Assert.Equal(3, world.JournalFiles("*.eml").Length);
        Assert.Equal(3, world.JournalFiles("*.json").Length);
        var audit = world.Store.ReadAudit();
        Assert.Equal(3, audit.Count);
        Assert.Equal(3, audit.Select(a => a.DecisionId).Distinct().Count());
        Assert.Equal(3, world.Sink.Deliveries.Count);
        // A crash after the delivery but before it was recorded re-delivers the same decision id (idempotent), never a new one.
        Assert.All(world.Sink.Deliveries.Values, n => Assert.InRange(n, 1, point == CrashPoint.AfterDeliver ? 2 : 1));
    }

    [Fact]
    public async Task Drain_MailThatKeptCrashingTheWorker_IsQuarantinedNotRetried()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("poison.eml", Mails.Space(1));
        var pending = Assert.Single(await world.Source.ListAsync(TestContext.Current.CancellationToken));
        var raw = File.ReadAllBytes(Path.Combine(world.InboxPath, "poison.eml"));
        var fingerprint = SmartMail.Core.Mime.MailExtractor.Fingerprint(raw);
        for (var i = 0; i < world.Options.MaxAttempts; i++)
        {
            // Each earlier run started the mail and died before deciding (as a process crash would).
            world.Store.Ledger.Begin([(pending.Key, fingerprint, MailProcessor.DecisionIdFor("drop", fingerprint))], DateTimeOffset.UtcNow);
        }

        // One mail per batch: it crashed alone each time (in batches of 500, CrashBisect first halves the group 8 times).
        var outcome = Assert.Single(await world.Processor.DrainAsync(world.Source, 1, TestContext.Current.CancellationToken));

        Assert.Equal(ProcessOutcome.Quarantined, outcome);
        Assert.Contains("started 3 times", Assert.Single(world.Store.ReadAudit()).Reason);
    }

    // The drop folder is drained in batches like a mailbox: a mail that crashes the worker at every delivery is narrowed
    // down by CrashBisect (the batch in flight halved per crash, ⌊log₂ 500⌋ = 8 times) and then crashes alone MaxAttempts
    // times before it is quarantined; every other mail is delivered once.
    [Fact]
    public async Task Drain_DropFolderBatchWithAMailThatCrashesTheWorker_OnlyThatMailIsQuarantined_AfterBisectionAndMaxAttempts()
    {
        using var world = new TestWorld(model.Bundle);
        for (var n = 0; n < 12; n++)
        {
            world.Drop($"{n:D2}.eml", n == 5 ? Mails.Space(n) + "poison\r\n" : Mails.Space(n));
        }
        var crashes = 0;
        IReadOnlyList<ProcessOutcome>? last = null;
        while (last is null && crashes < 20)
        {
            try
            {
                last = await world.ProcessorWith(new PoisonSink(world.Sink)).DrainAsync(world.Source, TestContext.Current.CancellationToken);
            }
            catch (CrashException)
            {
                crashes++;
                world.Restart();
            }
        }

        Assert.Equal(world.Options.MaxAttempts + CrashBisect.Steps(MailProcessor.DefaultBatchSize), crashes);
        Assert.Single(last!, o => o == ProcessOutcome.Quarantined);
        Assert.All(last!.Where(o => o != ProcessOutcome.Quarantined), o => Assert.Equal(ProcessOutcome.Routed, o));
        Assert.Equal(11, world.Sink.Deliveries.Count(d => d.Value == 1) - 1); // the quarantine's delivery is the twelfth
        Assert.Single(world.JournalFiles("*.eml"), f => f.Contains(world.Options.QuarantineDestination, StringComparison.Ordinal));
        Assert.Equal(12, world.Store.CountByState()[MailState.Acknowledged]);
    }

    private sealed class PoisonSink(IMailSink inner) : IMailSink
    {
        public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken) =>
            System.Text.Encoding.ASCII.GetString(delivery.Raw).Contains("poison", StringComparison.Ordinal) && delivery.Destination != "_quarantine"
                ? throw new CrashException()
                : inner.DeliverAsync(delivery, cancellationToken);
    }

    [Fact]
    public async Task Drain_MailWhoseDeliveryKeepsCrashingTheWorker_IsQuarantinedAfterMaxAttempts()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("crashes-its-sink.eml", Mails.Space(1));
        // One mail per batch: the rule for a mail that crashes alone (CrashBisect covers getting it alone).
        Task<IReadOnlyList<ProcessOutcome>> DrainAlone() => world.Processor.DrainAsync(world.Source, 1, TestContext.Current.CancellationToken);
        for (var run = 0; run < world.Options.MaxAttempts; run++)
        {
            // Decided, then the process dies inside the delivery, every time.
            world.Sink.CrashAt = CrashPoint.BeforeDeliver;
            await Assert.ThrowsAsync<CrashException>(DrainAlone);
            world.Restart();
        }

        var outcome = Assert.Single(await DrainAlone());

        Assert.Equal(ProcessOutcome.Quarantined, outcome);
        Assert.Equal(1, Assert.Single(world.Sink.Deliveries).Value);
        var audit = world.Store.ReadAudit();
        Assert.Equal(["routed", "quarantined"], audit.Select(a => a.Outcome));
        Assert.Contains("delivery to sci.space was started 3 times", audit[1].Reason, StringComparison.Ordinal);
        Assert.Single(world.JournalFiles("*.eml"));
        Assert.Contains(world.Options.QuarantineDestination, world.JournalFiles("*.eml")[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_SameMailTwice_IsDeliveredOnceAndRecordedAsDuplicate()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("a.eml", Mails.Space(3));
        await world.DrainAsync();
        world.Drop("b.eml", Mails.Space(3));

        var outcome = Assert.Single(await world.DrainAsync());

        Assert.Equal(ProcessOutcome.Duplicate, outcome);
        Assert.Single(world.JournalFiles("*.eml"));
        Assert.Equal(["model", "duplicate"], world.Store.ReadAudit().Select(a => a.Source));
        Assert.Empty(Directory.GetFiles(world.InboxPath));
    }

    [Fact]
    public async Task Drain_RuleMatch_SkipsModelAndCarriesKle()
    {
        using var world = new TestWorld(model.Bundle, [new RoutingRule { Name = "borgerservice", Label = "borgerservice", From = @"@example\.dk$" }]);
        world.Options.Routes["borgerservice"] = new Options.RouteOptions { Destination = "Borgerservice", Kle = "27.24.00" };
        world.Drop("1.eml", Mails.Danish(1));

        await world.DrainAsync();

        var json = File.ReadAllText(Assert.Single(Directory.GetFiles(Path.Combine(world.JournalPath, "Borgerservice"), "*.json")));
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("rule", doc.RootElement.GetProperty("source").GetString());
        Assert.Equal("27.24.00", doc.RootElement.GetProperty("kle").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("top").GetArrayLength());
        Assert.Null(Assert.Single(world.Store.ReadAudit()).ModelVersion);
    }

    [Fact]
    public async Task Drain_StateStoreLockedByAnotherProcess_FailsClosedAndMovesNothing()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("1.eml", Mails.Space(1));
        var dbPath = Path.Combine(world.Options.DataDirectory, "state.db");
        world.Store.Dispose();
        using var blocked = new SqliteStateStore(dbPath, TimeSpan.FromMilliseconds(100));
        using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dbPath};Pooling=False");
        other.Open();
        using (var cmd = other.CreateCommand())
        {
            cmd.CommandText = "BEGIN EXCLUSIVE";
            cmd.ExecuteNonQuery();
        }
        var policy = new RoutingPolicy([], model.Bundle);
        var processor = new MailProcessor(blocked, () => policy, new SmartMail.Core.Mime.MailExtractor(), world.Sink, world.Options,
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, new WorkerMetrics());

        await Assert.ThrowsAsync<StateStoreException>(() => processor.DrainAsync(world.Source, TestContext.Current.CancellationToken));

        Assert.Single(Directory.GetFiles(world.InboxPath));
        Assert.Empty(world.JournalFiles("*.eml"));
        world.Restart(); // lets Dispose close a store
    }

    [Fact]
    public async Task Drain_MailFullOfCprNumbers_LeavesNoneInLogsAuditOrDecisions()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("cpr.eml", Mails.CprHeavy.Replace("\n", "\r\n", StringComparison.Ordinal));
        world.Drop("cpr-broken.eml", "010190-1234 is not a header\r\n\r\n0101901234\r\n");

        await world.DrainAsync();

        Assert.NotEmpty(world.LogLines);
        Assert.All(world.LogLines, line => Assert.False(Cpr.ContainsAny(line), line));
        var audit = world.Store.ReadAudit();
        Assert.Equal(2, audit.Count);
        Assert.All(audit, a => Assert.False(Cpr.ContainsAny(JsonSerializer.Serialize(a)), JsonSerializer.Serialize(a)));
        Assert.All(world.JournalFiles("*.json"), f => Assert.False(Cpr.ContainsAny(File.ReadAllText(f)), f));
        Assert.False(Cpr.ContainsAny(File.ReadAllText(Path.Combine(world.Options.DataDirectory, "audit.jsonl"))));
        // The journal keeps the original mail untouched: the case system is where personal data belongs.
        Assert.Contains(world.JournalFiles("*.eml"), f => Cpr.ContainsAny(File.ReadAllText(f)));
    }

    [Fact]
    public void AuditTrail_IsAppendOnly()
    {
        using var world = new TestWorld(model.Bundle);
        world.Store.AppendAudit(new AuditEntry
        {
            Time = DateTimeOffset.UtcNow, DecisionId = "sm-x", Fingerprint = new string('0', 64), Mailbox = "drop", Source = "manual",
            Reason = "test", Destination = "_manual-triage", Outcome = "manual",
        });
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(world.Options.DataDirectory, "state.db")};Pooling=False");
        c.Open();
        using var update = c.CreateCommand();
        update.CommandText = "UPDATE audit SET label='x'";
        using var delete = c.CreateCommand();
        delete.CommandText = "DELETE FROM audit";

        Assert.Contains("append-only", Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => update.ExecuteNonQuery()).Message);
        Assert.Contains("append-only", Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => delete.ExecuteNonQuery()).Message);
    }
}
