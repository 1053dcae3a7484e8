using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Web;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Oversight;

/// <summary>The web app's reads with the shipped model deciding: the why, the per-label precision, search and paging.</summary>
public sealed class OversightQueriesTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("smartmail-queries-");
    private SmartMailOptions? _options;

    private async Task<(SqliteStateStore Store, ExampleStore Examples, OversightQueries Queries)> DecideAsync(params string[] mails)
    {
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_root.FullName, "data"), ModelPath = model.ModelPath };
        Directory.CreateDirectory(options.InboxPath);
        for (var i = 0; i < mails.Length; i++)
        {
            File.WriteAllText(Path.Combine(options.InboxPath, $"{i:D3}.eml"), mails[i]);
        }
        var path = Path.Combine(options.DataDirectory, "state.db");
        var store = new SqliteStateStore(path);
        var examples = new ExampleStore(path);
        var policy = new RoutingPolicy([], model.Bundle);
        _options = options;
        // The learning loop's counter, as the worker has it: automatic routes are counted when made.
        var precision = new LabelPrecisionMonitor(examples, store, options, TimeProvider.System);
        await new MailProcessor(store, () => policy, new MailExtractor(), new FolderJournalSink(options.JournalPath), options, TimeProvider.System,
            NullLogger.Instance, new WorkerMetrics(), examples, precision: precision).DrainAsync(new DropFolderSource("drop", options.InboxPath), TestContext.Current.CancellationToken);
        return (store, examples, new OversightQueries(store, examples, options, () => model.Bundle, null, TimeProvider.System));
    }

    [Fact]
    public async Task GetMail_DecidedByTheModel_GivesTopThreeThresholdVersionAndTheTermsThatWeighed()
    {
        var (store, examples, queries) = await DecideAsync(Mails.Space(1));
        using var _ = store;
        using var __ = examples;
        var id = Assert.Single(queries.FindMail(new MailQuery(["drop"]), 0, 10).Items).DecisionId;

        var detail = queries.GetMail(id)!;

        Assert.Equal("model", detail.Summary.Source);
        Assert.Equal(3, detail.Top.Count);
        Assert.Equal(model.Bundle.Manifest.ModelVersion, detail.ModelVersion);
        Assert.NotEmpty(detail.Terms);
        Assert.Contains(detail.Terms, t => t.Name.Contains("launch", StringComparison.OrdinalIgnoreCase) || t.Name.Contains("shuttle", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(detail.History, h => h.Outcome is "routed" or "manual");
        Assert.Contains("Shuttle launch question 1", queries.GetText(id)!.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindMailAndLabelPrecisions_OverManyMails_PageFilterAndCountCorrections()
    {
        var (store, examples, queries) = await DecideAsync([.. Enumerable.Range(0, 12).Select(i => i % 2 == 0 ? Mails.Space(i) : Mails.Car(i))]);
        using var _ = store;
        using var __ = examples;
        var all = queries.FindMail(new MailQuery(["drop"]), 0, 5);
        var second = queries.FindMail(new MailQuery(["drop"]), 5, 5);
        var cars = queries.FindMail(new MailQuery(["drop"], Sender: "EXAMPLE.NET"), 0, 50);
        var prefix = queries.FindMail(new MailQuery(["drop"], DecisionId: all.Items[0].DecisionId[..10]), 0, 50);
        var otherMailbox = queries.FindMail(new MailQuery(["elsewhere"]), 0, 50);
        var routed = queries.FindMail(new MailQuery(["drop"]), 0, 50).Items.First(m => m.Source == "model" && m.State == "routed");
        // Every channel records a correction through CorrectionRecorder (which counts it against the label).
        CorrectionRecorder.Record(store, examples, _options!, new Correction(DateTimeOffset.UtcNow, "drop", store.FindDecided("")
            .First(d => d.DecisionId == routed.DecisionId).Fingerprint, routed.DecisionId, routed.Label, routed.Label, "other", "x", "someone", "imap", null),
            null, "corrected in a test", "other");

        var precision = queries.LabelPrecisions().Single(l => l.Label == routed.Label);

        Assert.Equal((12, 5, 5), (all.Total, all.Items.Count, second.Items.Count));
        Assert.Empty(all.Items.Select(m => m.DecisionId).Intersect(second.Items.Select(m => m.DecisionId)));
        Assert.Equal(6, cars.Total);
        Assert.All(cars.Items, m => Assert.Equal("d\u2026@example.net", m.Sender)); // masked (issue 24, finding 7)
        Assert.Equal(all.Items[0].DecisionId, Assert.Single(prefix.Items).DecisionId);
        Assert.Equal(0, otherMailbox.Total);
        Assert.Equal(1, precision.Corrected);
        Assert.Equal(1.0 - (1.0 / precision.Automated), precision.RealisedPrecision!.Value, 6);
    }

    [Fact]
    public async Task PurgeSummaries_PastRetention_DeletesHandledMailRows_KeepsMailWaitingForAPerson()
    {
        // Space and car questions (the model routes most), and three mails that say nothing it knows (manual triage).
        var (store, examples, queries) = await DecideAsync([.. Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? Mails.Space(i) : Mails.Car(i)),
            .. Enumerable.Range(0, 3).Select(Mails.Danish)]);
        using var _ = store;
        using var __ = examples;
        var before = queries.FindMail(new MailQuery(["drop"]), 0, 50).Items;
        var waiting = before.Where(m => m.State is "pending" or "triage" or "quarantined").Select(m => m.DecisionId).Order().ToList();
        Assert.NotEmpty(waiting);
        Assert.Contains(before, m => m.State == "routed");

        var none = store.PurgeSummaries(DateTimeOffset.UtcNow.AddDays(-1)); // nothing is that old
        var deleted = store.PurgeSummaries(DateTimeOffset.UtcNow.AddMinutes(1));

        var after = queries.FindMail(new MailQuery(["drop"]), 0, 50).Items;
        Assert.Equal(0, none);
        Assert.Equal(before.Count - waiting.Count, deleted);
        Assert.Equal(waiting, after.Select(m => m.DecisionId).Order().ToList());
        // The subject search (FTS5, kept in step by triggers) finds no purged mail either.
        Assert.Empty(queries.FindMail(new MailQuery(["drop"], Subject: "Shuttle"), 0, 50).Items);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _root.Delete(recursive: true);
    }
}
