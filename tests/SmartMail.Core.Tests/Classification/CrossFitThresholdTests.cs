using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

/// <summary>
/// Thresholds that hold on data in any order: cross-fitted out-of-fold scores for small undated data, one threshold
/// shared by all labels' pooled evidence, a label's own only where its evidence supports one, and every label that
/// does not route told why.
/// </summary>
public sealed class CrossFitThresholdTests
{
    [Fact]
    public void Train_ShuffledSmallSet_CrossFitsAndKeepsPrecisionOnNewMail()
    {
        // A quarter of each label's mail is ambiguous (another label's words mixed in), in random order: no label's
        // last share is special, and only out-of-fold scores give every label enough validation mail.
        var docs = Noisy(80, seed: 21);
        new Random(5).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(docs));

        var result = ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions);
        using var bundle = result.Bundle;
        var fresh = Noisy(150, seed: 99);
        var scored = fresh.Select(d => new ScoredExample(d.Label, bundle.Predict(d.Text))).ToList();
        var report = Evaluator.Evaluate(scored, bundle.Model.Labels, bundle.Thresholds, 0.95);

        Assert.Equal("cross-fit-5x3", bundle.Manifest.Training.HoldoutSplit);
        Assert.Equal(docs.Count, result.Holdout!.Summary.Documents); // every training mail scored out of fold
        Assert.NotNull(bundle.Manifest.Training.SharedThreshold);
        Assert.InRange(report.Summary.AutomationRate, 0.2, 1.0);
        Assert.True(report.Summary.AutomatedPrecision >= 0.94, $"realised precision {report.Summary.AutomatedPrecision:F3} at automation {report.Summary.AutomationRate:F3}");
        Assert.All(bundle.Manifest.Labels, l => Assert.False(string.IsNullOrEmpty(l.Note)));
    }

    [Fact]
    public void Median_OfThreeFoldAssignments_TakesEachLabelsMiddleCut_ManualCountingHighest_WithThatChoicesNote()
    {
        static ThresholdChoice Choice(float? a, float? b, float? shared, string tag) => new(
            new Dictionary<string, float?> { ["a"] = a, ["b"] = b }, shared,
            new Dictionary<string, string> { ["a"] = $"a by {tag}", ["b"] = $"b by {tag}" });

        var median = ThresholdChoice.Median([Choice(0.9f, null, 0.9f, "first"), Choice(0.7f, 0.8f, 0.7f, "second"), Choice(0.8f, null, null, "third")]);

        Assert.Equal(0.8f, median.Thresholds["a"]);
        Assert.Null(median.Thresholds["b"]); // manual only in two of three
        Assert.Equal(0.9f, median.Shared);
        Assert.Equal("a by third (the median of 3 fold assignments)", median.Notes["a"]);
        Assert.Equal("b by first (the median of 3 fold assignments)", median.Notes["b"]);
        var one = Choice(0.5f, 0.6f, 0.5f, "only");
        Assert.Same(one, ThresholdChoice.Median([one]));
    }

    [Fact]
    public void Choose_LabelWithTooLittleEvidence_FollowsTheSharedThreshold_AndSaysSo()
    {
        // 200 confident right routes of a and b; c is predicted twice (right both times).
        var scored = Routes("a", "a", 0.99f, 100).Concat(Routes("b", "b", 0.98f, 100)).Concat(Routes("c", "c", 0.99f, 2))
            .Concat(Routes("a", "b", 0.6f, 20)).ToList();

        var choice = Evaluator.Choose(scored, ["a", "b", "c"], 0.95, new ThresholdOptions { Shared = true });

        Assert.InRange(choice.Shared!.Value, 0.59f, 0.99f); // the lowest cut the pooled routes keep the target at
        Assert.Equal(choice.Shared, choice.Thresholds["c"]);
        Assert.Contains("too little evidence", choice.Notes["c"], StringComparison.Ordinal);
        Assert.StartsWith("shared threshold", choice.Notes["a"], StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_LabelBelowTargetAtTheSharedThreshold_IsManualOnly_AndSaysWhy()
    {
        // a and b are reliable; d's confident routes are half wrong, so it must not ride on the others' evidence.
        var scored = Routes("a", "a", 0.99f, 400).Concat(Routes("b", "b", 0.99f, 400))
            .Concat(Routes("d", "d", 0.99f, 10)).Concat(Routes("a", "d", 0.99f, 10)).ToList();

        var choice = Evaluator.Choose(scored, ["a", "b", "d"], 0.95, new ThresholdOptions { Shared = true });

        Assert.NotNull(choice.Shared);
        Assert.NotNull(choice.Thresholds["a"]);
        Assert.Null(choice.Thresholds["d"]);
        Assert.StartsWith("manual only: at the shared threshold", choice.Notes["d"], StringComparison.Ordinal);
        Assert.Contains("10 of 20", choice.Notes["d"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)] // cross-fitted: the shared threshold
    [InlineData(false)] // ordered validation: own bounds with the pooled fallback
    public void Choose_LabelWithHundredsOfMailsButWeakSeparation_GetsAStrictThreshold_NotManualOnly(bool shared)
    {
        // a and b are reliable; w has 300 validation routes: its surest 40 are 90 % right (every tenth wrong, so no
        // cut of its own reaches 95 %), the other 260 only 70 %. Its surest mail is not shown below target: it routes,
        // at a cut above all its weak routes; a label with only 3 routes, all wrong, stays manual for too little evidence.
        var w = Enumerable.Range(0, 40).Select(i => new ScoredExample(i % 10 == 9 ? "a" : "w", new Prediction("w", 0.9999f - (i * 1e-5f), [])))
            .Concat(Enumerable.Range(0, 260).Select(i => new ScoredExample(i % 10 < 7 ? "w" : "b", new Prediction("w", 0.995f - (i * 1e-5f), []))));
        var scored = Routes("a", "a", 0.99f, 2000).Concat(Routes("b", "b", 0.99f, 2000)).Concat(w).Concat(Routes("a", "x", 0.9999f, 3)).ToList();
        var options = shared ? new ThresholdOptions { Shared = true } : new ThresholdOptions { PooledFallback = true };

        var choice = Evaluator.Choose(scored, ["a", "b", "w", "x"], 0.95, options);

        Assert.NotNull(choice.Thresholds["a"]);
        var cut = Assert.IsType<float>(choice.Thresholds["w"]);
        Assert.True(cut > 0.995f, $"w's threshold {cut} must be above all its weak routes");
        var routed = scored.Where(s => s.Predicted.Label == "w" && s.Predicted.Confidence >= cut).ToList();
        Assert.InRange(routed.Count, 5, 40);
        Assert.Matches("^(strict|raised) threshold", choice.Notes["w"]);
        Assert.Null(choice.Thresholds["x"]);
        Assert.StartsWith("manual only: too little evidence", choice.Notes["x"], StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_TargetUnreachable_EveryLabelManualWithItsReason()
    {
        var scored = Routes("a", "a", 0.9f, 10).Concat(Routes("b", "a", 0.9f, 10)).Concat(Routes("b", "b", 0.8f, 10)).Concat(Routes("a", "b", 0.8f, 10)).ToList();

        var choice = Evaluator.Choose(scored, ["a", "b"], 0.95, new ThresholdOptions { Shared = true });

        Assert.Null(choice.Shared);
        Assert.All(choice.Thresholds.Values, t => Assert.Null(t));
        Assert.All(choice.Notes.Values, n => Assert.StartsWith("manual only: the target 95 % is not reachable", n, StringComparison.Ordinal));
    }

    [Fact]
    public void ClopperPearson_BracketsTheEstimate_AndNarrowsWithMoreEvidence()
    {
        var small = Precision.ClopperPearson(19, 20, 0.95);
        var large = Precision.ClopperPearson(950, 1000, 0.95);

        Assert.InRange(small.Lower, 0.75, 0.76); // exact: 0.7513
        Assert.InRange(small.Upper, 0.998, 0.999); // exact: 0.9987
        Assert.True(large.Lower > small.Lower && large.Upper < small.Upper);
        Assert.Equal((0.0, 1.0), Precision.ClopperPearson(0, 0, 0.95));
    }

    [Fact]
    public void Choose_FlatStretchInAnyOrder_SharedCutStaysInABand_WhereTheFirstCrossingJumped()
    {
        // The same pooled evidence as different fold assignments give it: 100 sure routes all right, then a flat stretch
        // of 200 routes with 180 right (90 %) in 20 different orders, then 100 routes at 50 %. The share right above a
        // cut crosses 0.95 in the middle of the flat stretch (about 200 routes); where the raw share first passes the
        // test from below depends on the order of the last few mails, the isotonic expectation does not.
        int Routed(bool isotonic, int order)
        {
            var random = new Random(order);
            var flat = Enumerable.Range(0, 200).Select(i => i < 180).ToArray();
            random.Shuffle(flat);
            var right = Enumerable.Repeat(true, 100).Concat(flat).Concat(Enumerable.Range(0, 100).Select(_ => random.NextDouble() < 0.5)).ToList();
            var scored = right.Select((r, i) => new ScoredExample(r ? "a" : "b", new Prediction("a", 1f - (i * 1e-3f), []))).ToList();
            var cut = Evaluator.Choose(scored, ["a", "b"], 0.95, new ThresholdOptions { Shared = true, SharedIsotonic = isotonic }).Shared;
            return cut is { } c ? scored.Count(s => s.Predicted.Confidence >= c) : 0;
        }

        var isotonic = Enumerable.Range(1, 20).Select(o => Routed(true, o)).ToList();
        var raw = Enumerable.Range(1, 20).Select(o => Routed(false, o)).ToList();

        Assert.True(isotonic.Max() - isotonic.Min() <= 60, $"isotonic cut routes {string.Join(", ", isotonic)}");
        Assert.True(raw.Max() - raw.Min() > 60, $"first-crossing cut routes {string.Join(", ", raw)}"); // what it replaced
        Assert.All(isotonic, n => Assert.InRange(n, 150, 280)); // around the 200 where the expected share crosses
    }

    private static IEnumerable<ScoredExample> Routes(string actual, string predicted, float confidence, int count) =>
        Enumerable.Range(0, count).Select(i => new ScoredExample(actual, new Prediction(predicted, confidence - (i * 1e-5f), [])));

    private static List<TrainingDocument> Noisy(int perLabel, int seed)
    {
        var random = new Random(seed);
        var labels = SyntheticCorpus.Labels;
        var docs = SyntheticCorpus.Make(perLabel, seed);
        return [.. docs.Select((d, i) => random.NextDouble() < 0.25
            ? d with { Text = new TextInput(d.Text.Subject, d.Text.Body + " " + SyntheticCorpus.TextFor(labels[random.Next(labels.Count)], seed + i).Body) }
            : d)];
    }
}
