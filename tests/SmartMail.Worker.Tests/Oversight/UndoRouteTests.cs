namespace SmartMail.Worker.Tests.Oversight;

/// <summary>
/// Undo of a route from manual triage (the web app's "Fortryd"): a ledger transition back to triage with an audit row naming
/// the user, within the window only, once.
/// </summary>
public sealed class UndoRouteTests : IDisposable
{
    private readonly OversightWorld _world = new();

    [Fact]
    public async Task UndoRoute_WithinTheWindow_PutsTheMailBackInTriageOnce_WithAnAuditRowNamingTheUser()
    {
        var id = await RoutedAsync();
        var ct = TestContext.Current.CancellationToken;

        var undone = await _world.Actions.UndoRouteAsync(id, "alice", TimeSpan.FromMinutes(5), ct);
        var again = await _world.Actions.UndoRouteAsync(id, "alice", TimeSpan.FromMinutes(5), ct);

        Assert.True(undone.Ok, undone.Message);
        Assert.True(again.Ok, again.Message);
        Assert.Equal([Path.Combine(_world.Options.ManualTriageDestination, id + ".eml")], _world.JournalEml());
        Assert.Equal(id, Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId);
        var audit = Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "route-undone");
        Assert.Equal(("alice", "web"), (audit.By, audit.Source));
        Assert.Contains("'Housing'", audit.Reason, StringComparison.Ordinal);
        Assert.Equal(("triage", null), (_world.Queries.GetMail(id)!.Summary.State, _world.Queries.GetMail(id)!.Summary.Label));
    }

    [Fact]
    public async Task UndoRoute_WithdrawsTheCorrectionTheRouteRecorded_SoNoRetrainLearnsIt_AndARouteAfterwardsCountsAgain()
    {
        var id = await RoutedAsync();
        var ct = TestContext.Current.CancellationToken;
        var fingerprint = Assert.Single(_world.Examples.ReadCorrections(), c => c.DecisionId == id).Fingerprint;
        Assert.Equal("Housing", Assert.Single(_world.Examples.ReadLabeled(DateTimeOffset.MaxValue), e => e.Document.Fingerprint == fingerprint).Document.Label);

        var undone = await _world.Actions.UndoRouteAsync(id, "alice", TimeSpan.FromMinutes(5), ct);

        Assert.True(undone.Ok, undone.Message);
        Assert.DoesNotContain(_world.Examples.ReadCorrections(), c => c.DecisionId == id);
        Assert.DoesNotContain(_world.Examples.ReadLabeled(DateTimeOffset.MaxValue), e => e.Document.Fingerprint == fingerprint);
        Assert.Null(_world.Examples.LabelOf("drop", fingerprint));
        Assert.Contains("withdrawn", Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "route-undone").Reason, StringComparison.Ordinal);
        Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == "corrected" && a.DecisionId == id); // the trail keeps what happened

        var rerouted = await _world.Actions.RouteAsync(id, "Tax", "bob", ct);

        Assert.True(rerouted.Ok, rerouted.Message);
        var correction = Assert.Single(_world.Examples.ReadCorrections(), c => c.DecisionId == id);
        Assert.Equal(("Tax", "bob"), (correction.ToLabel, correction.By));
        Assert.Equal("Tax", Assert.Single(_world.Examples.ReadLabeled(DateTimeOffset.MaxValue), e => e.Document.Fingerprint == fingerprint).Document.Label);
    }

    [Fact]
    public async Task UndoRoute_AfterTheWindow_IsRefused_AndTheMailStaysWhereItWasRouted()
    {
        var id = await RoutedAsync();

        var outcome = await _world.Actions.UndoRouteAsync(id, "alice", TimeSpan.Zero, TestContext.Current.CancellationToken);

        Assert.False(outcome.Ok);
        Assert.Equal([Path.Combine("Housing", id + ".eml")], _world.JournalEml());
        Assert.DoesNotContain(_world.Store.ReadAudit(), a => a.Outcome == "route-undone");
    }

    [Fact]
    public async Task UndoRoute_OfAMailStillInTriage_DoesNothing()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;

        var outcome = await _world.Actions.UndoRouteAsync(id, "alice", TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);

        Assert.True(outcome.Ok, outcome.Message); // it is in triage already: nothing to do
        Assert.DoesNotContain(_world.Store.ReadAudit(), a => a.Outcome == "route-undone");
    }

    public void Dispose() => _world.Dispose();

    private async Task<string> RoutedAsync()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;
        var routed = await _world.Actions.RouteAsync(id, "Housing", "alice", TestContext.Current.CancellationToken);
        Assert.True(routed.Ok, routed.Message);
        return id;
    }
}
