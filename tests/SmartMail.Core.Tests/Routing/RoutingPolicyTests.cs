using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Core.Tests.Classification;

namespace SmartMail.Core.Tests.Routing;

public sealed class RoutingPolicyTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private static MailDocument Doc(string subject, string body, string from = "borger@example.dk") => new()
    {
        Id = "<x@y>",
        Fingerprint = new string('a', 64),
        Subject = subject,
        Body = body,
        From = [from],
    };

    [Fact]
    public void Decide_RuleMatches_SkipsTheModel()
    {
        var policy = new RoutingPolicy([new RoutingRule { Name = "skat-domain", Label = "skat", From = @"@skat\.dk$" }], fixture.Bundle);

        var decision = policy.Decide(Doc("carport", "byggetilladelse tilbygning carport", "noreply@skat.dk"));

        Assert.Equal(DecisionSource.Rule, decision.Source);
        Assert.Equal("skat", decision.Label);
        Assert.Equal("skat-domain", decision.Rule);
        Assert.Empty(decision.Top);
        Assert.Null(decision.ModelVersion);
    }

    [Fact]
    public void Decide_RuleThatWouldBacktrackExponentially_StillMatches_OnTheLinearEngine()
    {
        // On the backtracking engine "(a+)+$" fails in 2^n steps on n a's and a '!' (the match timeout would end it and the
        // rule would silently not match); the z later in the text is a match.
        var policy = new RoutingPolicy([new RoutingRule { Name = "z", Label = "skat", Text = "(a+)+$|z" }], fixture.Bundle);

        var decision = policy.Decide(Doc("carport", new string('a', 40) + "! z"));

        Assert.Equal(DecisionSource.Rule, decision.Source);
        Assert.Equal("z", decision.Rule);
    }

    [Fact]
    public void Decide_RuleWithALookahead_RunsOnTheBacktrackingEngine()
    {
        var policy = new RoutingPolicy([new RoutingRule { Name = "not-noreply", Label = "skat", From = @"^(?!noreply@).*@skat\.dk$" }], fixture.Bundle);

        Assert.Equal(DecisionSource.Rule, policy.Decide(Doc("carport", "byggetilladelse", "borger@skat.dk")).Source);
        Assert.NotEqual(DecisionSource.Rule, policy.Decide(Doc("carport", "byggetilladelse", "noreply@skat.dk")).Source);
    }

    [Fact]
    public void Decide_ConfidentModel_RoutesWithThresholdAndVersion()
    {
        var policy = new RoutingPolicy([], fixture.Bundle);
        var text = SyntheticCorpus.TextFor("byggeri", seed: 21);

        var decision = policy.Decide(Doc(text.Subject, text.Body + " byggetilladelse tilbygning carport lokalplan"));

        Assert.Equal(DecisionSource.Model, decision.Source);
        Assert.Equal("byggeri", decision.Label);
        Assert.NotNull(decision.Threshold);
        Assert.True(decision.Confidence >= decision.Threshold);
        Assert.Equal(fixture.Bundle.Manifest.ModelVersion, decision.ModelVersion);
        Assert.Contains("reached its threshold", decision.Reason);
    }

    [Fact]
    public void Decide_BelowThreshold_GoesToManualTriageWithSuggestions()
    {
        var policy = new RoutingPolicy([], fixture.Bundle);

        var decision = policy.Decide(Doc("hej", "hej jeg vil gerne spørge om noget"));

        Assert.Equal(DecisionSource.Manual, decision.Source);
        Assert.Null(decision.Label);
        Assert.Equal(3, decision.Top.Count);
        Assert.Equal(fixture.Bundle.Manifest.ModelVersion, decision.ModelVersion);
    }

    [Fact]
    public void FromPrediction_ManualOnlyLabel_NeverRoutesAutomatically()
    {
        var label = fixture.Bundle.Model.Labels[0];
        var manifest = fixture.Bundle.Manifest with
        {
            Labels = [.. fixture.Bundle.Manifest.Labels.Select(l => l with { Threshold = null })],
        };
        using var bundle = new ModelBundle(ModelBundle.Load(fixture.BundlePath).Model, manifest);

        var decision = RoutingPolicy.FromPrediction(new Prediction(label, 0.999f, [new LabelScore(label, 0.999f)]), bundle);

        Assert.Equal(DecisionSource.Manual, decision.Source);
        Assert.Contains("manual-only", decision.Reason);
    }

    [Fact]
    public void TryReadModelReason_ReadsBackWhatFromPredictionWrote_AndNothingElse()
    {
        var (label, threshold) = fixture.Bundle.Thresholds.Where(t => t.Value is not null).Select(t => (t.Key, t.Value!.Value)).First();
        var manualOnly = fixture.Bundle.Manifest with { Labels = [.. fixture.Bundle.Manifest.Labels.Select(l => l with { Threshold = null })] };
        using var noThresholds = new ModelBundle(ModelBundle.Load(fixture.BundlePath).Model, manualOnly);
        foreach (var (bundle, confidence, reached, th) in new[]
        {
            (fixture.Bundle, Math.Min(1f, threshold + 0.01f), true, (float?)threshold),
            (fixture.Bundle, threshold - 0.01f, false, threshold),
            (noThresholds, 0.999f, false, null),
        })
        {
            var decision = RoutingPolicy.FromPrediction(new Prediction(label, confidence, [new LabelScore(label, confidence)]), bundle);

            Assert.True(RoutingPolicy.TryReadModelReason(decision.Reason, out var readLabel, out var readConfidence, out var readThreshold, out var readReached), decision.Reason);
            Assert.Equal((label, reached), (readLabel, readReached));
            Assert.Equal(confidence, readConfidence, 0.0005f);
            Assert.Equal(th is null, readThreshold is null);
            Assert.Equal(th ?? 0, readThreshold ?? 0, 0.0005f);
        }
        Assert.False(RoutingPolicy.TryReadModelReason("rule 'Skat' matched the subject", out _, out _, out _, out _));
        Assert.False(RoutingPolicy.TryReadModelReason(null, out _, out _, out _, out _));
    }

    [Fact]
    public void Decide_NoModel_GoesToManualTriage()
    {
        var decision = new RoutingPolicy([], null).Decide(Doc("x", "y"));

        Assert.Equal(DecisionSource.Manual, decision.Source);
    }

    [Fact]
    public void Constructor_InvalidPattern_NamesTheRuleAndField()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RoutingPolicy([new RoutingRule { Name = "bad", Label = "x", Subject = "([" }], null));

        Assert.Contains("Rules:0 ('bad')", ex.Message);
        Assert.Contains("Subject", ex.Message);
    }

    [Fact]
    public void Constructor_RuleWithoutPattern_IsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RoutingPolicy([new RoutingRule { Name = "empty", Label = "x" }], null));

        Assert.Contains("sets no pattern", ex.Message);
    }
}
