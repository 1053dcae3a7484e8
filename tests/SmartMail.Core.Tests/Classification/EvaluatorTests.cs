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

    [Fact]
    public void ChooseThresholds_ClopperPearson_NeedsEnoughRoutesForTheLowerBound()
    {
        // 30 right of 30: the point estimate is 1.0, but 0.95^30 = 0.21 > 0.1, so the 90 % lower bound is below 0.95.
        var thirty = Enumerable.Range(0, 30).Select(_ => S("a", "a", 0.9f)).ToList();
        // 50 right of 50: 0.95^50 = 0.077 ≤ 0.1, so the bound reaches 0.95.
        var fifty = Enumerable.Range(0, 50).Select(_ => S("a", "a", 0.9f)).ToList();
        var rule = new ThresholdOptions { Method = ThresholdMethod.ClopperPearson, Confidence = 0.9, PointEstimateBelowBoundSupport = false };
        // 4 wrong among 54 at 0.8: 100 of 104 is 0.96 by the point estimate, but the bound is below 0.95.
        var mixed = fifty.Concat(Enumerable.Range(0, 50).Select(_ => S("a", "a", 0.8f))).Concat(Enumerable.Range(0, 4).Select(_ => S("b", "a", 0.8f))).ToList();

        Assert.Equal(0.9f, Evaluator.ChooseThresholds(thirty, ["a"], 0.95)["a"]); // point estimate
        Assert.Null(Evaluator.ChooseThresholds(thirty, ["a"], 0.95, rule)["a"]);
        Assert.Equal(0.9f, Evaluator.ChooseThresholds(fifty, ["a"], 0.95, rule)["a"]);
        Assert.Equal(0.8f, Evaluator.ChooseThresholds(mixed, ["a"], 0.95)["a"]);
        Assert.Equal(0.9f, Evaluator.ChooseThresholds(mixed, ["a"], 0.95, rule)["a"]);
        // With the small-sample fallback, 30 flawless routes (too few for any bound) are judged by the point estimate.
        Assert.Equal(0.9f, Evaluator.ChooseThresholds(thirty, ["a"], 0.95, rule with { PointEstimateBelowBoundSupport = true })["a"]);
    }

    [Fact]
    public void ChooseThresholds_LearnThenTest_StopsAtTheFirstCutThatFails()
    {
        // 60 right at 0.9, then 10 wrong at 0.8, then 200 right at 0.7: the bound recovers at 0.7 (260 of 270),
        // but fixed-sequence testing stopped at 0.8 (60 of 70 fails), so the threshold stays 0.9.
        var scored = Enumerable.Range(0, 60).Select(_ => S("a", "a", 0.9f))
            .Concat(Enumerable.Range(0, 10).Select(_ => S("b", "a", 0.8f)))
            .Concat(Enumerable.Range(0, 200).Select(_ => S("a", "a", 0.7f))).ToList();

        var clopperPearson = Evaluator.ChooseThresholds(scored, ["a"], 0.9, new ThresholdOptions { Method = ThresholdMethod.ClopperPearson, Confidence = 0.9 });
        var learnThenTest = Evaluator.ChooseThresholds(scored, ["a"], 0.9, new ThresholdOptions { Method = ThresholdMethod.LearnThenTest, Confidence = 0.9 });

        Assert.Equal(0.7f, clopperPearson["a"]);
        Assert.Equal(0.9f, learnThenTest["a"]);
    }

    [Fact]
    public void ChooseThresholds_Margin_RaisesTheTarget()
    {
        // 19 right of 20 at 0.9 (0.95), 1 more wrong at 0.5 (19 of 21 = 0.905).
        var scored = Enumerable.Range(0, 19).Select(_ => S("a", "a", 0.9f)).Append(S("b", "a", 0.9f)).Append(S("b", "a", 0.5f)).ToList();
        var point = new ThresholdOptions { Method = ThresholdMethod.PointEstimate };

        Assert.Equal(0.5f, Evaluator.ChooseThresholds(scored, ["a"], 0.9, point)["a"]);
        Assert.Equal(0.9f, Evaluator.ChooseThresholds(scored, ["a"], 0.9, point with { Margin = 0.04 })["a"]);
    }

    [Fact]
    public void Precision_BoundsMatchClosedForms()
    {
        Assert.Equal(Math.Pow(0.95, 20), Precision.BinomialUpperTail(20, 20, 0.95), 12);
        Assert.Equal(0.11172875634634728, Precision.BinomialUpperTail(48, 50, 0.9), 10);
        Assert.Equal(1.0, Precision.BinomialUpperTail(0, 10, 0.5));
        Assert.Equal(0.540792805687488, Precision.WilsonLower(8, 10, 0.95), 6);
    }

    [Fact]
    public void Evaluate_CarriesThePrecisionAutomationCurve()
    {
        // 10 documents, by confidence 1.0 down to 0.1; the 3rd and 7th most confident are wrong.
        var scored = Enumerable.Range(0, 10).Select(i => S(i is 2 or 6 ? "b" : "a", "a", 1.0f - (i * 0.1f))).ToList();

        var curve = Evaluator.Evaluate(scored, ["a", "b"], new Dictionary<string, float?>(), 0.95).Summary.Curve!;

        Assert.Equal(10, curve.Count); // steps of 5 % over 10 documents: one point per document
        Assert.Equal((0.1, 1.0), (curve[0].AutomationRate, curve[0].Precision));
        Assert.Equal((0.3, 2.0 / 3), (curve[2].AutomationRate, curve[2].Precision));
        Assert.Equal((1.0, 0.8), (curve[^1].AutomationRate, curve[^1].Precision));
        Assert.Equal(scored[2].Predicted.Confidence, curve[2].MinConfidence);
    }

    [Fact]
    public void ChooseThresholds_PooledFallback_GivesALabelThatFailsItsOwnBoundTheCutThatPassesOnAllLabels()
    {
        // "a": 80 flawless routes at 0.9 (passes alone). "b": 10 right at 0.9, 1 wrong at 0.5 — too few for a bound,
        // but 90 of 90 pooled at 0.9 pass, and b's own routes at 0.9 are all right.
        var scored = Enumerable.Range(0, 80).Select(_ => S("a", "a", 0.9f))
            .Concat(Enumerable.Range(0, 10).Select(_ => S("b", "b", 0.9f))).Append(S("a", "b", 0.5f)).ToList();
        var rule = new ThresholdOptions { Method = ThresholdMethod.ClopperPearson, Confidence = 0.95, PointEstimateBelowBoundSupport = false };

        var alone = Evaluator.ChooseThresholds(scored, ["a", "b"], 0.95, rule);
        var pooled = Evaluator.ChooseThresholds(scored, ["a", "b"], 0.95, rule with { PooledFallback = true });

        Assert.Equal((0.9f, (float?)null), (alone["a"], alone["b"]));
        Assert.Equal((0.9f, (float?)0.9f), (pooled["a"], pooled["b"]));
    }
}
