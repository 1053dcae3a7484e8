using SmartMail.Worker.Privacy;
using SmartMail.Worker.Tests.Oversight;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 7: revealing a mail's full text (<c>?full=true</c>, CPR numbers unmasked) was not audited. The worker's
/// <see cref="PrivacyAccessAudit"/> writes a row on the mail naming the user (the web side is in SmartMail.Web.Tests).
/// </summary>
public sealed class FullTextRevealAuditTests : IDisposable
{
    private readonly OversightWorld _world = new();

    [Fact]
    public async Task FullTextShown_KnownMail_WritesAnAuditRowNamingTheUser_ThatTheMailHistoryShows()
    {
        _world.Drop("a.eml", OversightWorld.Mail(1, subject: "Sag om 010190-1234"));
        await _world.DrainAsync();
        var id = Assert.Single(_world.Queries.TriageQueue("drop", 0, 10).Items).DecisionId;
        using var privacy = new PrivacyStore(_world.StatePath);
        var audit = new PrivacyAccessAudit(_world.Store, privacy, TimeProvider.System);

        var shown = audit.FullTextShown(id, "sagsbehandler@kommune.example");
        var unknown = audit.FullTextShown("no-such-decision", "x");

        Assert.True(shown);
        Assert.False(unknown);
        var row = Assert.Single(_world.Store.ReadAudit(), a => a.Outcome == PrivacyAccessAudit.FullTextOutcome);
        Assert.Equal((id, "sagsbehandler@kommune.example", "drop"), (row.DecisionId, row.By, row.Mailbox));
        Assert.DoesNotContain("010190", row.Reason, StringComparison.Ordinal);
        Assert.Contains(_world.Queries.GetMail(id)!.History, h => h.Outcome == PrivacyAccessAudit.FullTextOutcome);
    }

    public void Dispose() => _world.Dispose();
}
