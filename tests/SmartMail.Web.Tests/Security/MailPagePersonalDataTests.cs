namespace SmartMail.Web.Tests.Security;

/// <summary>
/// Issue 24, finding 7: the mail page showed attachment file names unmasked (a CPR number or address in a file name), and
/// showing the full text (<c>?full=true</c>, CPR numbers unmasked) was not audited.
/// </summary>
public sealed class MailPagePersonalDataTests
{
    [Fact]
    public async Task MailPage_AttachmentNamesWithCprAndAddress_AreMasked()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, page, body) = await admin.PageAsync("/mail/a01-0000-0000");

        Assert.DoesNotContain(FakeBackend.CprNumber, body, StringComparison.Ordinal);
        Assert.EndsWith(": attest_[CPR].pdf, skema fra [EMAIL] (kopi).pdf", page.TestIds("attachments").Single().TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MailPage_FullText_IsShownOnlyWithAnAuditRowNamingTheUser()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, full, _) = await admin.PageAsync("/mail/a01-0000-0000?full=true");
        server.Backend.AuditWorks = false;
        var (_, refused, refusedBody) = await admin.PageAsync("/mail/a01-0000-0000?full=true");

        Assert.Contains(FakeBackend.CprNumber, full.TestIds("mail-text").Single().TextContent, StringComparison.Ordinal);
        var (decisionId, user) = Assert.Single(server.Backend.FullTextsShown);
        Assert.Equal("a01-0000-0000", decisionId);
        Assert.False(string.IsNullOrEmpty(user));
        Assert.DoesNotContain(FakeBackend.CprNumber, refusedBody, StringComparison.Ordinal);
        Assert.Contains("[CPR]", refused.TestIds("mail-text").Single().TextContent, StringComparison.Ordinal);
    }
}
