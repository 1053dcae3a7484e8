using System.Text.Json;
using SmartMail.Core.Mime;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Ledger;

/// <summary>The defects of issue 13 §2 and §5 on the single-mail path (drop folder, journal, real SQLite).</summary>
public sealed class LedgerDefectTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public async Task Drain_MailGoneBeforeDeliveryThenBack_IsRoutedOnceNotTakenForADuplicate()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("a.eml", Mails.Space(4));
        // The sink finds the mail gone (another client took it between decision and delivery).
        var gone = new GoneOnceSink(world.Processor.Sink);
        var processor = Processor(world, gone);
        var first = Assert.Single(await processor.DrainAsync(world.Source, TestContext.Current.CancellationToken));
        Assert.Equal(ProcessOutcome.Gone, first);
        Assert.Empty(world.JournalFiles("*.eml"));
        File.Delete(Path.Combine(world.InboxPath, "a.eml"));

        // The person puts it back (a new key, the same bytes).
        world.Drop("a-again.eml", Mails.Space(4));
        var second = Assert.Single(await world.DrainAsync());

        Assert.Equal(ProcessOutcome.Routed, second);
        Assert.Single(world.JournalFiles("*.eml"));
        Assert.DoesNotContain(world.Store.ReadAudit(), a => a.Outcome == "duplicate");
    }

    [Fact]
    public async Task Drain_MailThatLeftComesBackAfterACopyWasDelivered_IsADuplicateNotDeliveredAgain()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("a.eml", Mails.Space(7));
        world.Drop("b.eml", Mails.Space(7)); // the same bytes
        var processor = Processor(world, new GoneOnceSink(world.Processor.Sink));
        // One mail per batch: the scenario needs the first copy gone before the second is even decided.
        Assert.Equal([ProcessOutcome.Gone, ProcessOutcome.Routed], await processor.DrainAsync(world.Source, 1, TestContext.Current.CancellationToken));

        // a.eml is listed again (it is back): its copy b.eml was really delivered meanwhile.
        var outcome = Assert.Single(await world.DrainAsync());

        Assert.Equal(ProcessOutcome.Duplicate, outcome);
        Assert.Equal(1, Assert.Single(world.Sink.Deliveries).Value);
        Assert.Equal(["routed", "gone", "routed", "reopened", "duplicate"], world.Store.ReadAudit().Select(a => a.Outcome));
    }

    // The same bytes twice in one batch: the second copy waits for the first within the same drain, so a one-shot run
    // leaves neither in the inbox (it was "deferred" to the next drain before).
    [Fact]
    public async Task Drain_TheSameBytesThreeTimesInOneBatch_OneDeliveredTwoDuplicates_InOneDrain()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("a.eml", Mails.Space(7));
        world.Drop("b.eml", Mails.Car(8));
        world.Drop("c.eml", Mails.Space(7));
        world.Drop("d.eml", Mails.Space(7));

        var outcomes = await world.DrainAsync();

        Assert.Equal(4, outcomes.Count);
        Assert.Equal(2, outcomes.Count(o => o == ProcessOutcome.Duplicate));
        Assert.All(outcomes.Where(o => o != ProcessOutcome.Duplicate), o => Assert.Contains(o, new[] { ProcessOutcome.Routed, ProcessOutcome.Manual }));
        Assert.Empty(Directory.GetFiles(world.InboxPath, "*.eml"));
        Assert.Equal(2, world.JournalFiles("*.eml").Length);
        Assert.All(world.Sink.Deliveries.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Drain_MailClaimedByAnotherInstanceThenBack_IsRoutedOnceNotTakenForADuplicate()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("a.eml", Mails.Space(5));
        var processor = Processor(world, new GoneOnceSink(world.Processor.Sink, claimed: true));
        Assert.Equal(ProcessOutcome.Claimed, Assert.Single(await processor.DrainAsync(world.Source, TestContext.Current.CancellationToken)));
        File.Delete(Path.Combine(world.InboxPath, "a.eml"));

        world.Drop("b.eml", Mails.Space(5));
        var second = Assert.Single(await world.DrainAsync());

        Assert.Equal(ProcessOutcome.Routed, second);
        Assert.Single(world.JournalFiles("*.eml"));
    }

    [Fact]
    public async Task Drain_UnparseableMail_GoesToManualTriageRawIntactWithTheReason()
    {
        using var world = new TestWorld(model.Bundle);
        var raw = System.Text.Encoding.UTF8.GetBytes(Mails.NotMime);
        world.Drop("broken.eml", raw);

        var outcome = Assert.Single(await world.DrainAsync());

        Assert.Equal(ProcessOutcome.Manual, outcome);
        var eml = Assert.Single(world.JournalFiles("*.eml"));
        Assert.Contains(world.Options.ManualTriageDestination, eml, StringComparison.Ordinal);
        Assert.Equal(raw, File.ReadAllBytes(eml));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(eml, ".json")));
        Assert.Contains("not parseable", json.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var audit = Assert.Single(world.Store.ReadAudit());
        Assert.Equal("manual", audit.Outcome);
        Assert.Contains("not parseable", audit.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_AuditFile_HasEveryTableRowWithTopAsJsonAndEnumNames()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("1.eml", Mails.Space(1));
        world.Drop("2.eml", Mails.Danish(2));
        world.Drop("3.eml", Mails.Space(1)); // a duplicate

        await world.DrainAsync();

        var table = world.Store.ReadAudit();
        var lines = File.ReadAllLines(Path.Combine(world.Options.DataDirectory, "audit.jsonl"));
        Assert.Equal(table.Count, lines.Length);
        using var routed = JsonDocument.Parse(lines[0]);
        var top = routed.RootElement.GetProperty("top");
        Assert.Equal(JsonValueKind.Array, top.ValueKind);
        Assert.Equal("sci.space", top[0].GetProperty("label").GetString());
        Assert.False(routed.RootElement.TryGetProperty("topJson", out _));
        Assert.All(lines, l => Assert.DoesNotContain("\"outcome\":0", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Drain_LabelWithASpace_AuditNamesTheFolderItWentTo()
    {
        using var world = new TestWorld(model.Bundle);
        world.Options.Routes["sci.space"] = new SmartMail.Worker.Options.RouteOptions { Destination = "Manuel visitering" };
        world.Restart();
        world.Drop("1.eml", Mails.Space(1));

        await world.DrainAsync();

        var eml = Assert.Single(world.JournalFiles("*.eml"));
        var folder = Path.GetFileName(Path.GetDirectoryName(eml))!;
        Assert.Equal("Manuel_visitering", folder);
        Assert.Equal(folder, Assert.Single(world.Store.ReadAudit()).Destination);
    }

    [Fact]
    public async Task Drain_DeliveryRefusedEveryTime_RecordsEachFailureThenQuarantinesAfterMaxAttempts()
    {
        using var world = new TestWorld(model.Bundle);
        world.Drop("refused.eml", Mails.Space(6));
        var processor = Processor(world, new RefusingSink(world.Processor.Sink, world.Options.QuarantineDestination));
        var outcomes = new List<ProcessOutcome>();
        for (var run = 0; run < world.Options.MaxAttempts; run++)
        {
            outcomes.AddRange(await processor.DrainAsync(world.Source, TestContext.Current.CancellationToken));
        }

        Assert.Equal([.. Enumerable.Repeat(ProcessOutcome.Deferred, world.Options.MaxAttempts - 1), ProcessOutcome.Quarantined], outcomes);
        Assert.Equal(["routed", "quarantined"], world.Store.ReadAudit().Select(a => a.Outcome));
        Assert.Contains(world.Options.QuarantineDestination, Assert.Single(world.JournalFiles("*.eml")), StringComparison.Ordinal);
    }

    private static MailProcessor Processor(TestWorld world, IMailSink sink) => world.ProcessorWith(sink);

    /// <summary>A destination that refuses every mail (not an outage: the mail's fault), except quarantine.</summary>
    private sealed class RefusingSink(IMailSink inner, string quarantine) : IMailSink
    {
        public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken) =>
            delivery.Destination == quarantine ? inner.DeliverAsync(delivery, cancellationToken) : throw new IOException("refused");
    }

    /// <summary>A sink whose first delivery finds the mail gone from its source (or claimed by another instance).</summary>
    private sealed class GoneOnceSink(IMailSink inner, bool claimed = false) : IMailSink
    {
        private bool _done;

        public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
        {
            if (_done)
            {
                return inner.DeliverAsync(delivery, cancellationToken);
            }
            _done = true;
            throw claimed ? new MailClaimedException("claimed by another instance") : new MailGoneException("gone");
        }
    }
}
