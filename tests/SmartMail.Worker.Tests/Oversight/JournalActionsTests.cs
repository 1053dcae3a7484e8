using SmartMail.Core.Routing;

namespace SmartMail.Worker.Tests.Oversight;

/// <summary>
/// The web app's actions on the embedded default (drop folder → journal), with the real journal and state.db: each mail
/// moves exactly once, whatever the clicks and crashes, and every action is a correction or an audit row naming the user.
/// </summary>
public sealed class JournalActionsTests : IDisposable
{
    private readonly OversightWorld _world = new([new RoutingRule { Name = "tax-rule", Label = "Tax", Subject = "Skat" }]);

    [Fact]
    public async Task Decide_MailToTriage_IsListedWithMaskedSubjectSenderAndDeliveredTime()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1, subject: "Sag om 010190-1234"));
        _world.Drop("b.eml", OversightWorld.Mail(2, subject: "Skat"));

        await _world.DrainAsync();

        var triage = _world.Queries.TriageQueue("drop", 0, 10);
        var one = Assert.Single(triage.Items);
        Assert.Equal(1, triage.Total);
        Assert.Equal("Sag om [CPR] 1", one.Subject);
        Assert.Equal("b\u2026@example.dk", one.Sender); // masked (issue 24, finding 7)
        Assert.Equal("manual", one.Source);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 9, 1, 0, TimeSpan.Zero), one.Received);
        var routed = Assert.Single(_world.Queries.FindMail(new Web.MailQuery(["drop"], Subject: "skat"), 0, 10).Items);
        Assert.Equal(("Tax", "routed", "rule"), (routed.Label, routed.State, routed.Source));
        var status = _world.Queries.GetStatus("drop", DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal((1, 1, 0), (status.Hours.Sum(h => h.Routed), status.Hours.Sum(h => h.Manual), status.Hours.Sum(h => h.Quarantined)));
        Assert.Equal(0.5, status.AutomationRate);
        Assert.NotNull(status.LatencyP50);
        Assert.Equal(0, status.Backlog);
    }

    [Fact]
    public async Task Route_DoubleClickConcurrentAndRepeated_MovesOnceAndRecordsOneCorrectionByTheUser()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;
        var ct = TestContext.Current.CancellationToken;

        var outcomes = await Task.WhenAll(
            _world.Actions.RouteAsync(id, "Housing", "alice", ct),
            _world.Actions.RouteAsync(id, "Housing", "alice", ct));
        var again = await _world.Actions.RouteAsync(id, "Housing", "alice", ct);

        Assert.All(outcomes.Append(again), o => Assert.True(o.Ok, o.Message));
        Assert.Equal([Path.Combine("Housing", id + ".eml")], _world.JournalEml());
        Assert.True(File.Exists(Path.Combine(_world.Options.JournalPath, "Housing", id + ".json")));
        var correction = Assert.Single(_world.Examples.ReadCorrections());
        Assert.Equal(("alice", "web", "Housing", null), (correction.By, correction.Via, correction.ToLabel, correction.FromLabel));
        var audit = Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "corrected");
        Assert.Equal("alice", audit.By);
        var detail = _world.Queries.GetMail(id)!;
        Assert.Equal(("routed", "Housing"), (detail.Summary.State, detail.Summary.Label));
        Assert.Single(detail.Corrections);
        Assert.Empty(_world.Queries.TriageQueue("drop", 0, 10).Items);
    }

    [Theory]
    [InlineData("move")]
    [InlineData("correct")]
    [InlineData("complete")]
    public async Task Route_CrashBetweenSteps_IsFinishedOnceAfterRestart(string step)
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;
        _world.Actions.BeforeStep = s =>
        {
            if (s == step)
            {
                throw new CrashException();
            }
        };

        await Assert.ThrowsAsync<CrashException>(() => _world.Actions.RouteAsync(id, "Housing", "bob", TestContext.Current.CancellationToken));
        _world.Restart();
        var finished = await _world.Actions.RecoverAsync(TestContext.Current.CancellationToken);
        var repeat = await _world.Actions.RouteAsync(id, "Housing", "bob", TestContext.Current.CancellationToken);

        Assert.Equal(1, finished);
        Assert.True(repeat.Ok, repeat.Message);
        Assert.Equal([Path.Combine("Housing", id + ".eml")], _world.JournalEml());
        Assert.Single(_world.Examples.ReadCorrections());
        Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "corrected");
        Assert.Empty(_world.Store.OpenActions());
        Assert.Equal("routed", _world.Queries.GetMail(id)!.Summary.State);
    }

    [Fact]
    public async Task Correct_RoutedMail_MovesItAndTeachesTheModel()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1, subject: "Skat"));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.FindMail(new Web.MailQuery(["drop"]), 0, 10).Items).DecisionId;

        var outcome = await _world.Actions.CorrectAsync(id, "Housing", "carol", TestContext.Current.CancellationToken);
        var twice = await _world.Actions.CorrectAsync(id, "Housing", "carol", TestContext.Current.CancellationToken);

        Assert.True(outcome.Ok, outcome.Message);
        Assert.True(twice.Ok, twice.Message);
        Assert.Equal([Path.Combine("Housing", id + ".eml")], _world.JournalEml());
        var correction = Assert.Single(_world.Examples.ReadCorrections());
        Assert.Equal(("Tax", "Housing", "carol"), (correction.FromLabel, correction.ToLabel, correction.By));
        Assert.Equal("Housing", _world.Examples.LabelOf("drop", correction.Fingerprint));
        Assert.Equal("corrected", _world.Queries.GetMail(id)!.Summary.State);
    }

    [Fact]
    public async Task Release_QuarantinedMail_GoesToTriageOnceWithAnAuditRowNamingTheUser()
    {
        _world.Options.MaxMessageMegabytes = 0; // every mail is "too large": quarantined
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.Quarantine("drop", 0, 10).Items).DecisionId;

        var outcome = await _world.Actions.ReleaseAsync(id, "dave", TestContext.Current.CancellationToken);
        var twice = await _world.Actions.ReleaseAsync(id, "dave", TestContext.Current.CancellationToken);

        Assert.True(outcome.Ok, outcome.Message);
        Assert.True(twice.Ok, twice.Message);
        Assert.Equal([Path.Combine("_manual-triage", id + ".eml")], _world.JournalEml());
        var audit = Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "released");
        Assert.Equal("dave", audit.By);
        Assert.Equal(id, Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId);
        Assert.Empty(_world.Queries.Quarantine(null, 0, 10).Items);
    }

    [Fact]
    public async Task Route_MailTakenFromTheJournalMeanwhile_IsRefusedAndNothingIsRecorded()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;
        File.Delete(Path.Combine(_world.Options.JournalPath, "_manual-triage", id + ".json"));
        File.Delete(Path.Combine(_world.Options.JournalPath, "_manual-triage", id + ".eml"));

        var outcome = await _world.Actions.RouteAsync(id, "Housing", "erin", TestContext.Current.CancellationToken);

        Assert.False(outcome.Ok);
        Assert.Empty(_world.JournalEml());
        Assert.Empty(_world.Examples.ReadCorrections());
        Assert.Empty(_world.Store.OpenActions());
    }

    [Fact]
    public async Task Route_UnknownDepartment_IsRefused()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;

        var outcome = await _world.Actions.RouteAsync(id, "../etc", "erin", TestContext.Current.CancellationToken);

        Assert.False(outcome.Ok);
        Assert.Equal([Path.Combine("_manual-triage", id + ".eml")], _world.JournalEml());
    }

    public void Dispose() => _world.Dispose();
}
