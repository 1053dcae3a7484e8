using System.Text.Json;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Learning;

/// <summary>Thresholds from corrections: realised precision per label, raised thresholds, manual-only, restarts and new models.</summary>
public sealed class ThresholdAdjustmentTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private const string V1 = "20261101-080000-aaaaaaaa";
    private const string V2 = "20261201-080000-bbbbbbbb";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-thresholds-");
    private readonly ManualClock _time = new(T0);
    private int _mails;

    public void Dispose() => _dir.Delete(recursive: true);

    private SmartMailOptions Options() => new() { DataDirectory = _dir.FullName, ModelPath = "unused" };

    private sealed class World : IDisposable
    {
        public World(SmartMailOptions options, TimeProvider time)
        {
            Options = options;
            var db = Path.Combine(options.DataDirectory, "state.db");
            Store = new SqliteStateStore(db);
            Examples = new ExampleStore(db);
            Monitor = new LabelPrecisionMonitor(Examples, Store, options, time);
        }

        public SmartMailOptions Options { get; }

        public SqliteStateStore Store { get; }

        public ExampleStore Examples { get; }

        public LabelPrecisionMonitor Monitor { get; }

        public void Dispose()
        {
            Examples.Dispose();
            Store.Dispose();
        }
    }

    // One automatic route of `label` at `confidence`; returns the mail's fingerprint.
    private string Route(World w, string label, float confidence = 0.99f, float threshold = 0.8f, string version = V1)
    {
        var fp = $"fp{++_mails:D5}";
        w.Monitor.Routed([new AutomaticRoute("mb", fp, "sm-" + fp, version, label, confidence, threshold)]);
        return fp;
    }

    private void Correct(World w, string fingerprint, string from, string to, string version = V1) =>
        CorrectionRecorder.Record(w.Store, w.Examples, w.Options,
            new Correction(_time.GetUtcNow(), "mb", fingerprint, "sm-" + fingerprint, from, from, to, to, "caseworker", "imap", version),
            null, $"moved by a caseworker from '{from}' to {to}", to);

    // A batch's routes are counted together (one round trip for the routes, each label read and saved once): the thresholds,
    // the counts and every change in force come out as if they had been counted one at a time.
    [Fact]
    public void Routes_CountedAsOneBatch_EndAsCountedOneByOne_ThresholdsCountsAndChanges()
    {
        var outcomes = new List<string>();
        foreach (var batched in new[] { false, true })
        {
            _mails = 0;
            var options = new SmartMailOptions { DataDirectory = Directory.CreateDirectory(Path.Combine(_dir.FullName, batched ? "batched" : "one-by-one")).FullName, ModelPath = "unused" };
            using var w = new World(options, _time);
            for (var i = 0; i < 6; i++)
            {
                Correct(w, Route(w, "guns"), "guns", "politics"); // raises the threshold in force
            }
            // Then a long run of right routes, again and again across labels, brings it down step by step; one route counted twice.
            var routes = Enumerable.Range(0, 400).Select(i => new AutomaticRoute("mb", $"late{i % 399:D4}", $"sm-late{i % 399:D4}", V1,
                i % 3 == 0 ? "clean" : "guns", 0.99f, 0.8f)).ToList();
            foreach (var chunk in batched ? [routes] : routes.Select(r => new List<AutomaticRoute> { r }))
            {
                w.Monitor.Routed(chunk);
            }
            var report = LabelPrecisionMonitor.Report(w.Examples, w.Options, V1).OrderBy(r => r.Label, StringComparer.Ordinal);
            var changes = w.Examples.ReadThresholdChanges(1000).Reverse().Select(c => $"{c.Label} {c.From} {c.To} {c.Outcome} {c.Automated}/{c.Wrong}");
            outcomes.Add(JsonSerializer.Serialize(new { report, changes }));
        }

        Assert.Contains("lowered", outcomes[0], StringComparison.Ordinal); // the run did move a threshold in force
        Assert.Equal(outcomes[0], outcomes[1]);
    }

    [Fact]
    public void Corrections_ManyOnOneLabel_RaiseItsThresholdThenMakeItManualOnly_CleanLabelUntouched()
    {
        using var w = new World(Options(), _time);
        var raisedSeen = false;

        for (var i = 0; i < 40 && w.Monitor.Find(V1, "guns") is not { Threshold: null }; i++)
        {
            Route(w, "clean");
            Correct(w, Route(w, "guns"), "guns", "politics");
            _time.Advance(LabelPrecisionMonitor.RefreshInterval); // a correction recorded elsewhere is seen within the interval
            raisedSeen |= w.Monitor.Find(V1, "guns") is { Threshold: > 0.8f };
        }

        Assert.True(raisedSeen, "the threshold was raised before the label became manual-only");
        var manualOnly = w.Monitor.Find(V1, "guns");
        Assert.NotNull(manualOnly);
        Assert.Null(manualOnly.Threshold);
        Assert.Null(w.Monitor.Find(V1, "clean"));
        var report = LabelPrecisionMonitor.Report(w.Examples, w.Options, V1).ToDictionary(r => r.Label);
        Assert.Equal((1.0, 0.8f), (report["clean"].RealisedPrecision, report["clean"].Threshold));
        Assert.Equal(report["guns"].Automated, report["guns"].Corrected);
        Assert.True(report["guns"].ManualOnly);
        var audit = w.Store.ReadAudit().Where(a => a.Source == "threshold").ToList();
        Assert.Contains(audit, a => a is { Outcome: "threshold-raised", Label: "guns", ModelVersion: V1 } && a.Threshold > 0.8f);
        Assert.Equal("manual-only", audit[^1].Outcome);
        Assert.Null(audit[^1].Threshold);
        Assert.Contains("corrected", audit[^1].Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(audit, a => a.Label == "clean");
        var lines = File.ReadAllLines(Path.Combine(_dir.FullName, "audit.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("source").GetString() == "threshold").ToList();
        Assert.Equal(audit.Count, lines.Count);
        Assert.Equal(audit.Count, w.Examples.ReadThresholdChanges(100).Count);
    }

    [Fact]
    public void Corrections_AtTheTargetRate_LeaveTheThresholdAlone()
    {
        using var w = new World(Options(), _time);

        // One correction in 20 routes is exactly 0.95: the rule must not react.
        for (var i = 0; i < 200; i++)
        {
            var fp = Route(w, "ok");
            if (i % 20 == 19)
            {
                Correct(w, fp, "ok", "other");
            }
        }

        Assert.Null(w.Monitor.Find(V1, "ok"));
        var row = Assert.Single(LabelPrecisionMonitor.Report(w.Examples, w.Options, V1));
        Assert.Equal((200, 10), (row.Automated, row.Corrected));
        Assert.Equal(0.95, row.RealisedPrecision!.Value, 6);
        Assert.InRange(row.LowerBound!.Value, 0.9, 0.95);
    }

    [Fact]
    public void RaisedThreshold_ComesBackDown_WhenRoutesStandUncorrected_NeverBelowTheModelsOwn()
    {
        using var w = new World(Options(), _time);
        for (var i = 0; i < 4; i++)
        {
            Correct(w, Route(w, "x"), "x", "y");
        }
        Assert.True(w.Monitor.Find(V1, "x")?.Threshold > 0.8f);

        for (var i = 0; i < 300; i++)
        {
            Route(w, "x");
        }

        Assert.Null(w.Monitor.Find(V1, "x"));
        var state = Assert.Single(w.Examples.ReadLabelThresholds(V1));
        Assert.Equal(0.8f, state.Threshold);
        Assert.Contains(w.Store.ReadAudit(), a => a.Outcome == "threshold-lowered");
        Assert.All(w.Examples.ReadThresholdChanges(100), c => Assert.True(c.To is null || c.To >= 0.8f));
    }

    [Fact]
    public void Overrides_SurviveARestart()
    {
        float? before;
        using (var w = new World(Options(), _time))
        {
            for (var i = 0; i < 3; i++)
            {
                Correct(w, Route(w, "x"), "x", "y");
            }
            before = w.Monitor.Find(V1, "x")?.Threshold;
        }

        using var again = new World(Options(), _time);

        Assert.NotNull(before);
        Assert.Equal(before, again.Monitor.Find(V1, "x")?.Threshold);
        Assert.Equal(3, Assert.Single(LabelPrecisionMonitor.Report(again.Examples, again.Options, V1)).Corrected);
    }

    [Fact]
    public void NewModelVersion_StartsClean()
    {
        using var w = new World(Options(), _time);
        for (var i = 0; i < 30; i++)
        {
            Correct(w, Route(w, "x"), "x", "y");
        }
        Assert.Null(w.Monitor.Find(V1, "x")!.Threshold);

        var fp = Route(w, "x", threshold: 0.7f, version: V2);

        Assert.Null(w.Monitor.Find(V2, "x"));
        var fresh = Assert.Single(LabelPrecisionMonitor.Report(w.Examples, w.Options, V2));
        Assert.Equal((1, 0, 0.7f, 0.7f), (fresh.Automated, fresh.Corrected, fresh.ModelThreshold, fresh.Threshold));
        Correct(w, fp, "x", "y", V2);
        Assert.Equal(1, Assert.Single(LabelPrecisionMonitor.Report(w.Examples, w.Options, V2)).Corrected);
    }

    [Fact]
    public void Correction_OfAManualTriageMail_OrASecondCorrection_DoesNotCount()
    {
        using var w = new World(Options(), _time);
        var routed = Route(w, "x");
        Correct(w, routed, "x", "y");
        Correct(w, routed, "y", "z"); // the same wrong route, corrected again
        Correct(w, "never-routed", "x", "y"); // manual triage: no automatic route to count

        var row = Assert.Single(LabelPrecisionMonitor.Report(w.Examples, w.Options, V1));
        Assert.Equal((1, 1), (row.Automated, row.Corrected));
    }

    [Fact]
    public void AdjustThresholdsOff_CountsButNeverOverrides()
    {
        var options = Options();
        options.Learning.AdjustThresholds = false;
        using var w = new World(options, _time);

        for (var i = 0; i < 30; i++)
        {
            Correct(w, Route(w, "x"), "x", "y");
        }

        Assert.Null(w.Monitor.Find(V1, "x"));
        Assert.Empty(w.Examples.ReadThresholdChanges(10));
        Assert.Equal(30, Assert.Single(LabelPrecisionMonitor.Report(w.Examples, w.Options, V1)).Corrected);
    }

    [Fact]
    public void ChangeByAnotherProcess_IsSeenAfterTheRefreshInterval()
    {
        using var worker = new World(Options(), _time);
        Assert.Null(worker.Monitor.Find(V1, "x"));
        var fp = Route(worker, "x");
        using var cli = new World(Options(), _time); // `smartmail correct` in its own process: its own connections

        for (var i = 0; i < 30; i++)
        {
            Correct(cli, i == 0 ? fp : Route(cli, "x"), "x", "y");
        }
        Assert.Null(worker.Monitor.Find(V1, "x")); // read less than RefreshInterval ago
        _time.Advance(LabelPrecisionMonitor.RefreshInterval);

        var seen = worker.Monitor.Find(V1, "x");
        Assert.NotNull(seen);
        Assert.Null(seen.Threshold);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(6.0)]
    public void Options_ThresholdStepOutOfRange_FailsNamingTheSetting(double step)
    {
        var options = Options();
        options.Learning.ThresholdStep = step;

        var result = new SmartMailOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("SmartMail:Learning:ThresholdStep: ", StringComparison.Ordinal));
    }

    [Fact]
    public void ClopperPearsonLower_MatchesKnownValues()
    {
        // 59 of 59 right is the smallest flawless record whose 95 % bound passes 0.95; 0 of n bounds at 0.
        Assert.True(LabelPrecisionMonitor.ClopperPearsonLower(59, 59, 0.95) >= 0.95);
        Assert.True(LabelPrecisionMonitor.ClopperPearsonLower(58, 58, 0.95) < 0.95);
        Assert.Equal(0, LabelPrecisionMonitor.ClopperPearsonLower(0, 10, 0.95));
        Assert.Equal(Math.Pow(0.05, 1.0 / 10), LabelPrecisionMonitor.ClopperPearsonLower(10, 10, 0.95), 6);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
