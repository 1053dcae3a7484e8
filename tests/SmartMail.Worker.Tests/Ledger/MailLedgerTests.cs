using System.Text.Json;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Ledger;

/// <summary>The state machine itself: each transition from the states it allows, nothing else; a step and its audit commit together.</summary>
public sealed class MailLedgerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-ledger-");
    private readonly SqliteStateStore _store;

    public MailLedgerTests() => _store = new SqliteStateStore(Path.Combine(_dir.FullName, "state.db"), auditFile: AuditFile);

    private string AuditFile => Path.Combine(_dir.FullName, "audit.jsonl");

    private static MailKey Key(int n) => new("box", "INBOX", 7, n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private MailLedger Ledger => _store.Ledger;

    [Fact]
    public void HappyPath_SeenDecidedDeliveredAcknowledged_EachStepRecorded()
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Assert.Equal(MailState.Seen, _store.Get(Key(1))!.State);
        Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]);
        Assert.Equal(MailState.Decided, _store.Get(Key(1))!.State);
        Ledger.Deliver([Key(1)], Now);
        Assert.Equal(MailState.Delivered, _store.Get(Key(1))!.State);
        Ledger.Acknowledge([Key(1)], Now);

        Assert.Equal(MailState.Acknowledged, _store.Get(Key(1))!.State);
        Assert.Equal("routed", Assert.Single(_store.ReadAudit()).Outcome);
    }

    [Fact]
    public void Acknowledge_MailNotDelivered_ThrowsAndWritesNothing()
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]);

        Assert.Throws<IllegalTransitionException>(() => Ledger.Acknowledge([Key(1)], Now));
        Assert.Equal(MailState.Decided, _store.Get(Key(1))!.State);
    }

    [Fact]
    public void Deliver_MailOnlySeen_Throws() =>
        Assert.Throws<IllegalTransitionException>(() =>
        {
            Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
            Ledger.Deliver([Key(1)], Now);
        });

    [Fact]
    public void Decide_BatchWithOneIllegalMail_RollsBackEveryDecisionAndAuditRow()
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2")], Now);
        Ledger.Decide([Decision(Key(2), "fp2", "sm-2")]);
        Ledger.Deliver([Key(2)], Now);
        var before = _store.ReadAudit().Count;

        Assert.Throws<IllegalTransitionException>(() => Ledger.Decide([Decision(Key(1), "fp1", "sm-1"), Decision(Key(2), "fp2", "sm-2")]));

        Assert.Equal(MailState.Seen, _store.Get(Key(1))!.State);
        Assert.Equal(before, _store.ReadAudit().Count);
        Assert.Equal(before, File.ReadAllLines(AuditFile).Length);
    }

    [Fact]
    public void Leave_ThenBackUnderTheSameKey_ReopensAsSeenWithOneAttemptAndAudits()
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]);
        Ledger.Leave(Key(1), Audit("fp1", "sm-1", "gone"));

        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);

        var record = _store.Get(Key(1))!;
        Assert.Equal((MailState.Seen, 1, null), (record.State, record.Attempts, record.Destination));
        Assert.Equal(["routed", "gone", "reopened"], _store.ReadAudit().Select(a => a.Outcome));
    }

    [Fact]
    public void FindDelivered_MailThatLeftOrWasClaimedElsewhere_IsNoEarlierDelivery()
    {
        Ledger.Begin([(Key(1), "fp", "sm-1"), (Key(2), "fp", "sm-1")], Now);
        Ledger.Leave(Key(1), Audit("fp", "sm-1", "gone"));
        Ledger.LoseClaim(Key(2), Audit("fp", "sm-1", "claimed"));

        Assert.Null(_store.FindDelivered("box", "fp"));
        var gone = _store.Get(Key(1))!;
        Assert.Throws<IllegalTransitionException>(() => Ledger.Duplicate(Key(3), "fp", "sm-1", gone, Audit("fp", "sm-1", "duplicate")));
        Assert.Null(_store.Get(Key(3)));
    }

    [Fact]
    public void Recover_WritesItsAuditRowToTheTableAndTheFile()
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]);

        Ledger.Recover(Key(1), Audit("fp1", "sm-1", "delivered"));

        Assert.Equal(MailState.Acknowledged, _store.Get(Key(1))!.State);
        var lines = File.ReadAllLines(AuditFile);
        Assert.Equal(_store.ReadAudit().Count, lines.Length);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal("delivered", last.RootElement.GetProperty("outcome").GetString());
    }

    [Theory]
    [InlineData(MailState.Acknowledged)]
    [InlineData(MailState.Gone)]
    [InlineData(MailState.ClaimedElsewhere)]
    public void Leave_FromAFinishedState_Throws(MailState finished)
    {
        Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]);
        switch (finished)
        {
            case MailState.Acknowledged:
                Ledger.Deliver([Key(1)], Now);
                Ledger.Acknowledge([Key(1)], Now);
                break;
            case MailState.Gone:
                Ledger.Leave(Key(1), Audit("fp1", "sm-1", "gone"));
                break;
            default:
                Ledger.LoseClaim(Key(1), Audit("fp1", "sm-1", "claimed"));
                break;
        }

        Assert.Throws<IllegalTransitionException>(() => Ledger.Leave(Key(1), Audit("fp1", "sm-1", "gone")));
        Assert.Equal(finished, _store.Get(Key(1))!.State);
    }

    [Fact]
    public void Table_EveryTransitionHasAStartAndEveryStateIsReachable()
    {
        Assert.Equal(Enum.GetValues<MailTransition>().Length, MailLedger.Table.Count);
        var reached = MailLedger.Table.Values.Select(t => t.To).OfType<MailState>().Append(MailState.Seen).ToHashSet();
        Assert.Equal(Enum.GetValues<MailState>().ToHashSet(), reached);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Delete(recursive: true);
    }

    private static DecisionToRecord Decision(MailKey key, string fingerprint, string decisionId) =>
        new(key, "sci.space", "{}", Audit(fingerprint, decisionId, "routed"));

    private static AuditEntry Audit(string fingerprint, string decisionId, string outcome) => new()
    {
        Time = Now,
        DecisionId = decisionId,
        Fingerprint = fingerprint,
        Mailbox = "box",
        Source = "test",
        Reason = "test",
        Destination = "sci_space",
        Outcome = outcome,
    };
}
