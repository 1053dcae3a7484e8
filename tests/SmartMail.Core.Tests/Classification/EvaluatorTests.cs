using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

public sealed class EvaluatorTests
{
    private static ScoredExample S(string actual, string predicted, float confidence) =>
        new(actual, new Prediction(predicted, confidence, [new LabelScore(predicted, confidence)]));

    [Fact]
    public void ChooseThresholds_PicksLowestCutReachingTargetPrecision()
    {
        // "a" predictions by confidence: 0.9 ok x5, 0.8 ok, 0.7 wrong, 0.6 ok, 0.5 wrong, 0.4 wrong
        var scored = new List<ScoredExample>();
        scored.AddRange(Enumerable.Range(0, 5).Select(_ => S("a", "a", 0.9f)));
        scored.Add(S("a", "a", 0.8f));
        scored.Add(S("b", "a", 0.7f));
        scored.Add(S("a", "a", 0.6f));
        scored.Add(S("b", "a", 0.5f));
        scored.Add(S("b", "a", 0.4f));

        var at85 = Evaluator.ChooseThresholds(scored, ["a", "b"], 0.85);
        var at100 = Evaluator.ChooseThresholds(scored, ["a", "b"], 1.0);

        Assert.Equal(0.6f, at85["a"]); // 7 right of 8 = 0.875
        Assert.Equal(0.8f, at100["a"]); // 6 of 6
        Assert.Null(at85["b"]); // never predicted: manual-only
    }

    [Fact]
    public void ChooseThresholds_TooFewRoutes_StaysManual()
    {
        var scored = Enumerable.Range(0, Evaluator.MinThresholdSupport - 1).Select(_ => S("a", "a", 0.99f)).ToList();

        Assert.Null(Evaluator.ChooseThresholds(scored, ["a"], 0.9)["a"]);
    }

    [Fact]
    public void Evaluate_ComputesPerLabelMetricsConfusionAndAutomation()
    {
        ScoredExample[] scored = [S("a", "a", 0.9f), S("a", "b", 0.6f), S("b", "b", 0.95f), S("b", "b", 0.5f)];
        var thresholds = new Dictionary<string, float?> { ["a"] = 0.8f, ["b"] = 0.7f };

        var report = Evaluator.Evaluate(scored, ["a", "b"], thresholds, 0.95);

        Assert.Equal(0.75, report.Summary.Accuracy);
        Assert.Equal([[1, 1], [0, 2]], report.Confusion);
        var a = report.PerLabel.Single(l => l.Label == "a");
        var b = report.PerLabel.Single(l => l.Label == "b");
        Assert.Equal((1.0, 0.5), (a.Precision, a.Recall));
        Assert.Equal((2.0 / 3, 1.0), (b.Precision, b.Recall));
        Assert.Equal(0.5, report.Summary.AutomationRate); // 0.9 as a, 0.95 as b
        Assert.Equal(1.0, report.Summary.AutomatedPrecision);
        Assert.Equal(((2 * 1.0 * 0.5 / 1.5) + (2 * (2.0 / 3) / (5.0 / 3))) / 2, report.Summary.MacroF1, 10);
    }

    [Fact]
    public void AutomationAtPrecision_LargestShareAtOneCutKeepingThePrecision_TiesStayTogether()
    {
        // By confidence: 0.9 ok, 0.8 ok, 0.7 wrong, 0.6 ok, 0.6 wrong, 0.5 wrong (6 documents)
        ScoredExample[] scored = [S("a", "a", 0.9f), S("b", "b", 0.8f), S("a", "b", 0.7f), S("b", "b", 0.6f), S("a", "b", 0.6f), S("b", "a", 0.5f)];

        Assert.Equal((2.0 / 6, 1.0), Evaluator.AutomationAtPrecision(scored, 1.0));
        // 3 of 5 right at the 0.6 cut (0.6) is below 0.65; 2 of 3 at 0.7 is enough.
        Assert.Equal((3.0 / 6, 2.0 / 3), Evaluator.AutomationAtPrecision(scored, 0.65));
        Assert.Equal((1.0, 0.5), Evaluator.AutomationAtPrecision(scored, 0.5));
        Assert.Equal((0.0, 0.0), Evaluator.AutomationAtPrecision([S("a", "b", 0.9f)], 0.5));
    }
}
