using SmartMail.Core.Routing;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests;

/// <summary>
/// The decision record against the published schema (docs/decision.schema.json): every kind of decision the processor writes
/// (model, rule, manual, unparseable, quarantine, duplicate), what a web action makes of it, and a record the schema must refuse.
/// Every TestWorld delivery and every MailboxChecker ledger row is checked against the schema too.
/// </summary>
public sealed class DecisionSchemaTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public async Task Drain_EveryKindOfDecision_WritesRecordsThatMatchTheSchema()
    {
        using var world = new TestWorld(model.Bundle, [new RoutingRule { Name = "cars", Subject = "Engine", Label = "rec.autos" }]);
        world.Drop("1.eml", Mails.Space(1));
        world.Drop("2.eml", Mails.Car(2));
        world.Drop("3.eml", Mails.Danish(3));
        world.Drop("4.eml", Mails.NotMime);
        world.Drop("5.eml", Mails.CprHeavy);
        world.Drop("6.eml", Mails.Space(1)); // the same bytes again: a duplicate

        await world.DrainAsync();

        var records = world.JournalFiles("*.json");
        Assert.True(records.Length >= 5, $"{records.Length} decision records");
        Assert.All(records, f => DecisionSchema.AssertValid(File.ReadAllText(f)));
        var sources = records.Select(f => DecisionRecord.Parse(File.ReadAllText(f))!.Source).ToHashSet();
        Assert.Superset(new HashSet<string> { "model", "rule", "manual" }, sources);
    }

    [Fact]
    public void DecisionRecord_RewrittenByAWebAction_KeepsTheSchemaAndUnknownFields()
    {
        var json = """{"schemaVersion":1,"decisionId":"sm-0123456789abcdef01234567","mailbox":"drop","fingerprint":"0000000000000000000000000000000000000000000000000000000000000000","messageId":null,"source":"model","label":"sci.space","kle":null,"confidence":0.9,"top":[{"label":"sci.space","score":0.9}],"threshold":0.5,"modelVersion":"v1","rule":null,"parentDecisionId":null,"attachmentTerms":null,"attachmentFiles":null,"reason":"model","destination":"space","decidedUtc":"2026-12-06T22:00:00+00:00","caseNumber":"K-17"}""";

        var rewritten = DecisionRecord.Parse(json)! with { Label = "rec.autos", Source = "manual", DecidedLabel = "sci.space", Destination = "cars", WebAction = new WebActionDone("move", "anna", "space") };

        DecisionSchema.AssertValid(rewritten.ToJson());
        Assert.Contains("\"caseNumber\":\"K-17\"", rewritten.ToJson(), StringComparison.Ordinal);
        Assert.Equal("anna", DecisionRecord.Parse(rewritten.ToJson())!.WebAction!.By);
    }

    [Fact]
    public void Schema_RecordWithoutADecisionIdOrWithAnUnknownSource_IsRefused()
    {
        var good = new DecisionRecord
        {
            DecisionId = "sm-0123456789abcdef01234567",
            Mailbox = "drop",
            Fingerprint = new string('a', 64),
            Source = "quarantine",
            Reason = "larger than 50 MB",
            Destination = "_quarantine",
            DecidedUtc = DateTimeOffset.UnixEpoch,
        };

        DecisionSchema.AssertValid(good.ToJson());
        Assert.NotEmpty(DecisionSchema.Problems((good with { Source = "guess" }).ToJson()));
        Assert.NotEmpty(DecisionSchema.Problems(good.ToJson().Replace("\"decisionId\"", "\"id\"", StringComparison.Ordinal)));
    }
}
