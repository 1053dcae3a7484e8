using SmartMail.Core.Classification;
using SmartMail.Core.Routing;
using SmartMail.Core.Tests.Classification;

namespace SmartMail.Core.Tests.Routing;

/// <summary>Thresholds raised in service (drift) are applied by the policy on top of the model's own.</summary>
public sealed class ThresholdOverrideTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private sealed class Overrides(string version, string label, ThresholdOverride value) : IThresholdOverrides
    {
        public ThresholdOverride? Find(string modelVersion, string l) => modelVersion == version && l == label ? value : null;
    }

    // The fixture's model separates its synthetic labels so well that its own thresholds sit at 1.0; the policy is
    // tested against the same model with each routed label's threshold at 0.6, so there is room above it. (Not
    // disposed: it shares the fixture's model.)
    private ModelBundle Bundle => new(fixture.Bundle.Model, fixture.Bundle.Manifest with
    {
        Labels = [.. fixture.Bundle.Manifest.Labels.Select(l => l with { Threshold = l.Threshold is null ? null : 0.6f })],
    });

    private (string Label, float Own) RoutedLabel()
    {
        var (label, threshold) = Bundle.Thresholds.First(t => t.Value is not null);
        return (label, threshold!.Value); // chosen because it has a threshold
    }

    private static Prediction Predict(string label, float confidence) => new(label, confidence, [new LabelScore(label, confidence)]);

    [Fact]
    public void FromPrediction_RaisedAboveTheConfidence_GoesToManualAndSaysWhy()
    {
        var (label, own) = RoutedLabel();
        var confidence = Math.Min(1f, own + 0.001f);
        var raised = new Overrides(fixture.Bundle.Manifest.ModelVersion, label, new ThresholdOverride(Math.Min(1f, confidence + 0.0005f), "raised in service: 9 of 40 routes corrected"));

        var without = RoutingPolicy.FromPrediction(Predict(label, confidence), Bundle);
        var with = RoutingPolicy.FromPrediction(Predict(label, confidence), Bundle, raised);

        Assert.Equal(DecisionSource.Model, without.Source);
        Assert.Equal(DecisionSource.Manual, with.Source);
        Assert.True(with.Threshold > own);
        Assert.Contains("raised in service: 9 of 40 routes corrected", with.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPrediction_OverrideBelowTheModelsOwn_IsIgnored()
    {
        var (label, own) = RoutedLabel();
        var lower = new Overrides(fixture.Bundle.Manifest.ModelVersion, label, new ThresholdOverride(own / 2, "lower"));

        var decision = RoutingPolicy.FromPrediction(Predict(label, own * 0.75f), Bundle, lower);

        Assert.Equal(DecisionSource.Manual, decision.Source);
        Assert.Equal(own, decision.Threshold);
        Assert.DoesNotContain("lower", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPrediction_OverrideOfAnotherModelVersion_IsIgnored()
    {
        var (label, _) = RoutedLabel();
        var other = new Overrides("some-older-model", label, new ThresholdOverride(null, "made manual-only"));

        var decision = RoutingPolicy.FromPrediction(Predict(label, 1f), Bundle, other);

        Assert.Equal(DecisionSource.Model, decision.Source);
    }

    [Fact]
    public void FromPrediction_ManualOnlyOverride_NeverRoutes()
    {
        var (label, _) = RoutedLabel();
        var manualOnly = new Overrides(fixture.Bundle.Manifest.ModelVersion, label, new ThresholdOverride(null, "12 of 30 routes corrected"));

        var decision = RoutingPolicy.FromPrediction(Predict(label, 1f), Bundle, manualOnly);

        Assert.Equal(DecisionSource.Manual, decision.Source);
        Assert.Null(decision.Threshold);
        Assert.Contains("manual-only in service", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("12 of 30 routes corrected", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_WithOverrides_AppliesThem()
    {
        var plain = new RoutingPolicy([], Bundle);
        var (document, baseline) = SyntheticCorpus.Make(5, seed: 99).Select(d => Doc(d.Text))
            .Select(d => (d, plain.Decide(d))).First(x => x.Item2.Source == DecisionSource.Model);
        var manualOnly = new Overrides(fixture.Bundle.Manifest.ModelVersion, baseline.Label!, new ThresholdOverride(null, "made manual-only"));

        var decision = new RoutingPolicy([], Bundle, manualOnly).Decide(document);

        Assert.Equal(DecisionSource.Manual, decision.Source);
        Assert.Contains("made manual-only", decision.Reason, StringComparison.Ordinal);
    }

    private static SmartMail.Core.Mime.MailDocument Doc(TextInput text) => new()
    {
        Id = "<x@y>",
        Fingerprint = new string('a', 64),
        Subject = text.Subject,
        Body = text.Body,
        From = ["borger@example.dk"],
    };
}
