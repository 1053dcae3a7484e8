using SmartMail.Core.Attachments;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Core.Tests.Classification;

namespace SmartMail.Core.Tests.Routing;

/// <summary>The policy's order: explicit rules, case-number rules, the thread, the model; and attachment evidence in model decisions.</summary>
public sealed class ThreadAndCaseNumberRoutingTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    // A text the model routes to 'byggeri' with confidence.
    private static readonly string Building = SyntheticCorpus.TextFor("byggeri", seed: 21).Body + " byggetilladelse tilbygning carport lokalplan";

    private static MailDocument Doc(string subject, string body, string? inReplyTo = null, params string[] references) => new()
    {
        Id = "<new@example.dk>",
        Fingerprint = new string('a', 64),
        Subject = subject,
        Body = body,
        From = ["borger@example.dk"],
        InReplyTo = inReplyTo,
        References = references,
    };

    private sealed class Threads(Dictionary<string, ThreadParent> known) : IThreadLookup
    {
        public List<IReadOnlyList<string>> Asked { get; } = [];

        public ThreadParent? Find(IReadOnlyList<string> messageIds)
        {
            Asked.Add(messageIds);
            return messageIds.Select(id => known.GetValueOrDefault(id)).FirstOrDefault(p => p is not null);
        }
    }

    [Fact]
    public void Decide_ReplyToRoutedMail_FollowsTheThreadNotTheModel()
    {
        var threads = new Threads(new() { ["parent@example.dk"] = new ThreadParent("skat", "sm-0123456789abcdef01234567", null) });
        var policy = new RoutingPolicy([], fixture.Bundle);

        var decision = policy.Decide(Doc("Re: carport", Building, inReplyTo: "parent@example.dk"), threads);

        Assert.Equal(DecisionSource.Thread, decision.Source);
        Assert.Equal("skat", decision.Label);
        Assert.Equal("sm-0123456789abcdef01234567", decision.ParentDecisionId);
        Assert.Contains("sm-0123456789abcdef01234567", decision.Reason);
        Assert.Empty(decision.Top); // the model was not asked
        Assert.Equal("byggeri", policy.Decide(Doc("Re: carport", Building, inReplyTo: "parent@example.dk")).Label); // without threads: the model
    }

    [Fact]
    public void Decide_ReplyToFolderMessage_NamesTheFolder()
    {
        var threads = new Threads(new() { ["answer@kommune.dk"] = new ThreadParent("skole", null, "Skole") });

        var decision = new RoutingPolicy([], fixture.Bundle).Decide(Doc("Re: svar", Building, inReplyTo: "answer@kommune.dk"), threads);

        Assert.Equal(DecisionSource.Thread, decision.Source);
        Assert.Equal("skole", decision.Label);
        Assert.Null(decision.ParentDecisionId);
        Assert.Contains("department folder 'Skole'", decision.Reason);
    }

    [Fact]
    public void Decide_UnknownThread_AsksTheModel()
    {
        var threads = new Threads([]);

        var decision = new RoutingPolicy([], fixture.Bundle).Decide(Doc("Re: carport", Building, "unknown@example.dk", "older@example.dk"), threads);

        Assert.Equal(DecisionSource.Model, decision.Source);
        Assert.Equal("byggeri", decision.Label);
        Assert.Equal(["unknown@example.dk", "older@example.dk"], Assert.Single(threads.Asked));
    }

    [Fact]
    public void Decide_NoReplyHeaders_DoesNotLookUpTheThread()
    {
        var threads = new Threads([]);

        new RoutingPolicy([], fixture.Bundle).Decide(Doc("carport", Building), threads);

        Assert.Empty(threads.Asked);
    }

    [Fact]
    public void Decide_References_TriesInReplyToThenNewestFirst_Bounded()
    {
        var threads = new Threads([]);
        var references = Enumerable.Range(0, 30).Select(i => $"r{i}@x").ToArray();

        new RoutingPolicy([], fixture.Bundle).Decide(Doc("Re", Building, "r29@x", references), threads);

        var asked = Assert.Single(threads.Asked);
        Assert.Equal(10, asked.Count);
        Assert.Equal(["r29@x", "r28@x", "r27@x"], asked.Take(3));
    }

    [Fact]
    public void Decide_ExplicitRuleAndCaseNumber_ComeBeforeTheThread()
    {
        var threads = new Threads(new() { ["p@x"] = new ThreadParent("skat", "sm-1", null) });
        var rule = new RoutingRule { Name = "school-domain", Label = "skole", From = "@example\\.dk$" };
        var caseNumber = new CaseNumberRule { Name = "kle", Pattern = @"\b(\d{2}\.\d{2})\.\d{2}\b", Series = { ["02.34"] = "affald" } };

        var byRule = new RoutingPolicy([rule], fixture.Bundle, [caseNumber]).Decide(Doc("Re: 02.34.10", Building, "p@x"), threads);
        var byCase = new RoutingPolicy([], fixture.Bundle, [caseNumber]).Decide(Doc("Re: 02.34.10", Building, "p@x"), threads);

        Assert.Equal(("skole", DecisionSource.Rule, "school-domain"), (byRule.Label, byRule.Source, byRule.Rule));
        Assert.Equal(("affald", DecisionSource.Rule, "kle"), (byCase.Label, byCase.Source, byCase.Rule));
        Assert.Contains("series '02.34'", byCase.Reason);
    }

    [Theory]
    [InlineData("SagsNr 27.24.00-G01-12-24 om boligstøtte", "skat", "27.24")]   // the longest prefix wins
    [InlineData("Vedr. sag 27.10.04-P20-3-22", "skole", "27")]
    [InlineData("Sag 2024-117 carport", "byggeri", "2000..2099")]              // a range of the year
    [InlineData("Sag 1999-117 carport", "affald", null)]                          // no series: the rule's Label
    public void Decide_CaseNumberInSubject_RoutesToTheSeriesOwner(string subject, string label, string? series)
    {
        var rules = new[]
        {
            new CaseNumberRule { Name = "sagsnr", Pattern = @"(\d{2}\.\d{2})\.\d{2}-[A-Z]\d{2}-\d+-\d{2}", Series = { ["27"] = "skole", ["27.24"] = "skat" } },
            new CaseNumberRule { Name = "aarssag", Pattern = @"Sag (\d{4})-(\d+)", Series = { ["2000..2099"] = "byggeri" }, Label = "affald" },
        };

        var decision = new RoutingPolicy([], fixture.Bundle, rules).Decide(Doc(subject, "hej"));

        Assert.Equal(DecisionSource.Rule, decision.Source);
        Assert.Equal(label, decision.Label);
        if (series is not null)
        {
            Assert.Contains($"series '{series}'", decision.Reason);
        }
    }

    [Fact]
    public void Decide_CaseNumberOfNoKnownSeries_AsksTheModel()
    {
        var rule = new CaseNumberRule { Name = "kle", Pattern = @"\b(\d{2}\.\d{2}\.\d{2})\b", Series = { ["27.24"] = "skat" } };

        var decision = new RoutingPolicy([], fixture.Bundle, [rule]).Decide(Doc("Om 02.34.10", Building));

        Assert.Equal(DecisionSource.Model, decision.Source);
    }

    [Theory]
    [InlineData("(", "CaseNumbers:0 ('bad'):Pattern")]
    [InlineData("", "CaseNumbers:0 ('bad'):Pattern")]
    public void Constructor_BadCaseNumberPattern_NamesTheSetting(string pattern, string setting)
    {
        var ex = Assert.Throws<ArgumentException>(() => new RoutingPolicy([], null, [new CaseNumberRule { Name = "bad", Pattern = pattern, Label = "x" }]));

        Assert.Contains(setting, ex.Message);
    }

    [Fact]
    public void Constructor_BadRange_NamesTheSeries()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RoutingPolicy([], null,
            [new CaseNumberRule { Name = "r", Pattern = @"(\d+)", Series = { ["20..10"] = "x" } }]));

        Assert.Contains("CaseNumbers:0 ('r'):Series:20..10", ex.Message);
    }

    [Fact]
    public void Decide_CaseNumberPatternTimesOut_FallsThroughToTheModel()
    {
        var rule = new CaseNumberRule { Name = "slow", Pattern = @"^(a+)+$", Label = "skat" };

        var decision = new RoutingPolicy([], fixture.Bundle, [rule]).Decide(Doc(new string('a', 40) + "!", Building));

        Assert.Equal(DecisionSource.Model, decision.Source);
    }

    [Fact]
    public void Decide_ModelDecidedByAttachmentTerms_SaysSoWithTheFile()
    {
        const string intro = "Hej, se vedhæftede. Venlig hilsen";
        var body = intro + "\n[bilag: skema.pdf]\n" + Building;
        var document = Doc("Skema", body) with
        {
            AttachmentTextStart = intro.Length + 1,
            AttachmentTexts = [new AttachmentText { FileName = "skema.pdf", MediaType = "application/pdf", Text = Building }],
        };

        var decision = new RoutingPolicy([], fixture.Bundle).Decide(document);

        Assert.Equal(DecisionSource.Model, decision.Source);
        Assert.Equal("byggeri", decision.Label);
        Assert.NotEmpty(decision.AttachmentTerms);
        Assert.All(decision.AttachmentTerms, t => Assert.Contains(t, Building, StringComparison.Ordinal));
        Assert.Equal(["skema.pdf"], decision.AttachmentFiles);
        Assert.Contains("decided by attachment terms: " + decision.AttachmentTerms[0], decision.Reason);
        Assert.Contains("(bilag: skema.pdf)", decision.Reason);
    }

    [Fact]
    public void Decide_SameTermsInTheBody_AreNotAttachmentEvidence()
    {
        var body = Building + "\n[bilag: skema.pdf]\n" + Building;
        var document = Doc("Skema", body) with
        {
            AttachmentTextStart = Building.Length + 1,
            AttachmentTexts = [new AttachmentText { FileName = "skema.pdf", MediaType = "application/pdf", Text = Building }],
        };

        var decision = new RoutingPolicy([], fixture.Bundle).Decide(document);

        Assert.Equal(DecisionSource.Model, decision.Source);
        Assert.Empty(decision.AttachmentTerms);
        Assert.DoesNotContain("attachment", decision.Reason);
    }
}
