using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Learning;

/// <summary>The promotion gate: a better candidate is promoted; a worse one, one without enough data to judge, or one that forgets labels is not.</summary>
public sealed class RetrainerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-retrain-");
    private readonly MailExtractor _extractor = new();

    private readonly List<IDisposable> _stores = [];

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public void ShuffledLabels_CandidateIsWorse_IsNotPromoted_AndTheReportSaysWhy()
    {
        var (registry, examples, history) = Installation(Topics.Space, Topics.Cars, Topics.Parking);
        using (examples)
        {
            Store(examples, 40, Topics.Space, Topics.Cars, Topics.Parking);
            var current = registry.CurrentVersion();

            var report = Retrainer.Run(examples, history, registry, Options() with { ShuffleLabels = true }, Clock());

            Assert.Equal(RetrainDecision.Kept, report.Decision);
            Assert.StartsWith("worse", report.Reason, StringComparison.Ordinal);
            Assert.True(report.ShuffledLabels);
            Assert.True(report.Candidate!.AutomationAtTarget < report.Current!.AutomationAtTarget - 0.2,
                $"candidate {report.Candidate.AutomationAtTarget} vs current {report.Current.AutomationAtTarget}");
            Assert.Null(registry.Store.CurrentModel()); // nothing promoted: the configured model is served
            Assert.Equal(current, registry.CurrentVersion());
            var entry = Assert.Single(registry.Read().Models, m => m.Version == report.CandidateVersion);
            Assert.Equal("rejected", entry.Status);
            Assert.Contains("SHUFFLED", File.ReadAllText(report.ReportFile!), StringComparison.Ordinal);
            Assert.Contains("SHUFFLED", registry.Report(entry.Version), StringComparison.Ordinal); // kept with the version in the store
        }
    }

    [Fact]
    public void SameData_CandidateTies_PromotionDecidedByMacroF1()
    {
        var (registry, examples, history) = Installation(Topics.Space, Topics.Cars, Topics.Parking);
        using (examples)
        {
            Store(examples, 40, Topics.Space, Topics.Cars, Topics.Parking);

            var report = Retrainer.Run(examples, history, registry, Options(), Clock());

            // Both models separate these topics; the rule then falls to the tie-break, and says so.
            Assert.Contains("tie on automation", report.Reason, StringComparison.Ordinal);
            Assert.Equal(report.Candidate!.MacroF1 >= report.Current!.MacroF1 ? RetrainDecision.Promoted : RetrainDecision.Kept, report.Decision);
        }
    }

    [Fact]
    public void TooFewNewExamples_NothingTrained_ReportSaysWhatIsNeeded()
    {
        var (registry, examples, history) = Installation(Topics.Space, Topics.Cars);
        using (examples)
        {
            Store(examples, 4, Topics.Space, Topics.Cars);

            var report = Retrainer.Run(examples, history, registry, Options(), Clock());

            Assert.Equal(RetrainDecision.NotTrained, report.Decision);
            Assert.Null(report.CandidateVersion);
            Assert.Contains("at least 20 are needed", report.Reason, StringComparison.Ordinal);
            Assert.True(File.Exists(report.ReportFile));
        }
    }

    [Fact]
    public void CandidateWithoutTheHistory_WouldForgetRoutedLabels_IsNotPromoted()
    {
        var (registry, examples, _) = Installation(Topics.Space, Topics.Cars, Topics.Parking);
        using (examples)
        {
            Store(examples, 60, Topics.Space, Topics.Cars);

            var report = Retrainer.Run(examples, null, registry, Options(), Clock());

            Assert.Equal(RetrainDecision.Kept, report.Decision);
            Assert.Equal([Topics.Parking], report.DroppedLabels);
            Assert.Contains("does not know 1 labels", report.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void UnconfirmedRoutes_AreNotTrainedOn_UntilTheyHaveStoodForConfirmAfter()
    {
        var (registry, examples, history) = Installation(Topics.Space, Topics.Cars);
        using (examples)
        {
            Store(examples, 40, Topics.Space, Topics.Cars);

            var report = Retrainer.Run(examples, history, registry, Options() with { ConfirmAfter = TimeSpan.FromDays(30) }, Clock());

            Assert.Equal(RetrainDecision.NotTrained, report.Decision);
            Assert.Equal(0, report.Data.StoredExamples);
        }
    }

    [Fact]
    public void Judge_DecidesByAutomationThenMacroF1()
    {
        static ModelScore S(double automation, double f1) => new("v", 2, automation, 0.96, f1, f1, automation, 0.96, []);
        var options = new RetrainOptions();
        Assert.True(Retrainer.Judge(S(0.50, 0.9), S(0.60, 0.8), [], options).Promote);
        Assert.False(Retrainer.Judge(S(0.60, 0.8), S(0.50, 0.9), [], options).Promote);
        Assert.True(Retrainer.Judge(S(0.60, 0.8), S(0.603, 0.8), [], options).Promote);
        Assert.False(Retrainer.Judge(S(0.60, 0.81), S(0.603, 0.80), [], options).Promote);
        Assert.False(Retrainer.Judge(S(0.50, 0.8), S(0.90, 0.9), ["x"], options).Promote);
        Assert.True(Retrainer.Judge(S(0.50, 0.8), S(0.90, 0.9), ["x"], options with { AllowDroppingLabels = true }).Promote);
    }

    private static RetrainOptions Options() => new() { ConfirmAfter = TimeSpan.FromDays(1) };

    // A clock well after every stored decision, so routes count as confirmed.
    private static FixedClock Clock() => new(Start.AddDays(10));

    private (ModelRegistry Registry, ExampleStore Examples, TrainingSet History) Installation(params string[] topics)
    {
        var history = TrainingSet.FromFolders(Topics.WriteHistory(Path.Combine(_dir.FullName, "history"), 30, topics), _extractor);
        var seed = Path.Combine(_dir.FullName, "seed.zip");
        using (var bundle = ModelTraining.Train(history, new TrainingOptions()).Bundle)
        {
            bundle.Save(seed);
        }
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, "data"), ModelPath = seed };
        var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        _stores.Add(store);
        return (ModelRegistry.For(options, store), new ExampleStore(Path.Combine(options.DataDirectory, "state.db")), history);
    }

    private void Store(ExampleStore examples, int perTopic, params string[] topics)
    {
        for (var i = 0; i < perTopic; i++)
        {
            examples.SaveDecided([.. topics.Select(t =>
            {
                var doc = _extractor.Extract(Topics.Bytes(t, i));
                return new NewExample("mb", doc.Fingerprint, "sm-" + doc.Fingerprint[..8], t, "v1", new TextInput(doc.Subject, doc.Body), doc.Date);
            })], Start.AddHours(i));
        }
    }
}

/// <summary>A clock that stands still.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
