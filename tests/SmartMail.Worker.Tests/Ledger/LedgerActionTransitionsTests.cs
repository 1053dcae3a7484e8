using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Ledger;

/// <summary>
/// Corrections and web actions are transitions of the one ledger: checked against the state they start from, written with
/// their audit rows in one transaction, and mirrored to audit.jsonl by the store's one writer.
/// </summary>
public sealed class LedgerActionTransitionsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ThresholdTracker Tracker = new(0.9, 0.05, 0.99);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-ledger-actions-");
    private readonly SqliteStateStore _store;
    private readonly ExampleStore _examples;

    public LedgerActionTransitionsTests()
    {
        _store = new SqliteStateStore(Path.Combine(_dir.FullName, "state.db"), auditFile: AuditFile);
        _examples = new ExampleStore(Path.Combine(_dir.FullName, "state.db"));
    }

    private string AuditFile => Path.Combine(_dir.FullName, "audit.jsonl");

    private static MailKey Key(int n) => new("box", "INBOX", 7, n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Correct_DeliveredMail_CorrectionCountAndAuditRowsCommitTogetherAndReachAuditJsonl()
    {
        Deliver(1);
        // Three automatic routes of "Housing", one of them this mail: a correction may change the label's threshold.
        _store.Ledger.CountAutomaticRoutes([Route("fp1"), Route("fpx"), Route("fpy")], Tracker, adjust: true, Now);

        var (hasText, change) = _store.Ledger.Correct(Correction("fp1"), Text("fp1"), CorrectionRecorder.Audit(Correction("fp1"), "test", "Tax"),
            Tracker, adjust: true);

        Assert.True(hasText);
        Assert.Equal("Tax", Assert.Single(_examples.ReadCorrections()).ToLabel);
        var audit = _store.ReadAudit();
        Assert.Single(audit, a => a.Outcome == "corrected");
        Assert.Equal(change is null ? 0 : 1, audit.Count(a => a.Source == "threshold"));
        // Every row of the table is a line of audit.jsonl, in the same order.
        Assert.Equal(audit.Select(a => a.Outcome), File.ReadAllLines(AuditFile).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("outcome").GetString()));
    }

    [Fact]
    public void Correct_MailOnlySeen_ThrowsAndWritesNeitherCorrectionNorAudit()
    {
        _store.Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);

        Assert.Throws<IllegalTransitionException>(() => _store.Ledger.Correct(Correction("fp1"), Text("fp1"),
            CorrectionRecorder.Audit(Correction("fp1"), "test", "Tax"), Tracker, adjust: true));

        Assert.Empty(_examples.ReadCorrections());
        Assert.Empty(_store.ReadAudit());
        Assert.False(File.Exists(AuditFile) && File.ReadAllLines(AuditFile).Length > 0);
    }

    [Fact]
    public void WebAction_EveryStepFollowsTheTable()
    {
        Deliver(1);
        var asked = new WebActionRecord("sm-1", "correct", "Tax", "alice", "box", "sci_space", "Tax", WebActionStep.Intent, null);

        var intent = _store.Ledger.RequestAction(asked, Now);
        Assert.Equal(WebActionStep.Intent, intent.Step);
        Assert.Equal(intent, _store.Ledger.RequestAction(asked with { User = "bob" }, Now)); // open: the same row, unchanged
        Assert.Throws<IllegalTransitionException>(() => _store.Ledger.CompleteAction(intent, "corrected", "Tax", null, [], Now));
        var moved = _store.Ledger.MoveAction(intent, Now);
        Assert.Throws<IllegalTransitionException>(() => _store.Ledger.MoveAction(moved, Now));
        Assert.Equal(WebActionStep.Moved, Assert.Single(_store.OpenActions()).Step);

        var correction = Correction("fp1");
        _store.Ledger.CompleteAction(moved, "corrected", "Tax", (correction, CorrectionRecorder.Audit(correction, "web", "Tax"), Tracker, true), [], Now);

        Assert.Empty(_store.OpenActions());
        Assert.Single(_examples.ReadCorrections());
        Assert.Single(_store.ReadAudit(), a => a.Outcome == "corrected" && a.By == "alice");
        Assert.Throws<IllegalTransitionException>(() => _store.Ledger.FailAction(moved, "late", Now));
        Assert.Equal(WebActionStep.Intent, _store.Ledger.RequestAction(asked, Now).Step); // done: may be asked again
    }

    [Fact]
    public void CompleteAction_CorrectionOfMailNeverDecided_RollsBackTheCompletion()
    {
        _store.Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        var action = _store.Ledger.MoveAction(_store.Ledger.RequestAction(
            new WebActionRecord("sm-1", "route", "Tax", "alice", "box", "triage", "Tax", WebActionStep.Intent, null), Now), Now);

        var correction = Correction("fp1");
        Assert.Throws<IllegalTransitionException>(() => _store.Ledger.CompleteAction(action, "routed", "Tax",
            (correction, CorrectionRecorder.Audit(correction, "web", "Tax"), Tracker, true), [], Now));

        Assert.Equal(WebActionStep.Moved, Assert.Single(_store.OpenActions()).Step);
        Assert.Empty(_examples.ReadCorrections());
        Assert.Empty(_store.ReadAudit());
    }

    [Fact]
    public void AppendAudit_RowNoStepOfAMail_ReachesAuditJsonl()
    {
        _store.AppendAudit(new AuditEntry
        {
            Time = Now, DecisionId = "", Fingerprint = "", Mailbox = "", Source = "web", ModelVersion = "v2",
            Reason = "promoted", Destination = "", Outcome = "promote", By = "alice",
        });

        Assert.Contains("\"promote\"", Assert.Single(File.ReadAllLines(AuditFile)), StringComparison.Ordinal);
    }

    private void Deliver(int n)
    {
        var fp = $"fp{n}";
        _store.Ledger.Begin([(Key(n), fp, $"sm-{n}")], Now);
        _store.Ledger.Decide([new DecisionToRecord(Key(n), "sci_space", "{}", new AuditEntry
        {
            Time = Now, DecisionId = $"sm-{n}", Fingerprint = fp, Mailbox = "box", Source = "model", Label = "Housing",
            Reason = "test", Destination = "sci_space", Outcome = "routed",
        })]);
        _store.Ledger.Deliver([Key(n)], Now);
    }

    private static AutomaticRoute Route(string fp) => new("box", fp, "sm-" + fp, "v1", "Housing", 0.8f, 0.5f);

    private static Correction Correction(string fp) =>
        new(Now, "box", fp, "sm-" + fp[2..], "Housing", "sci_space", "Tax", "Tax", "alice", "web", "v1");

    private static NewExample Text(string fp) => new("box", fp, "sm-" + fp[2..], "Housing", "v1", new TextInput("subject", "body"), Now);

    public void Dispose()
    {
        _examples.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }
}
