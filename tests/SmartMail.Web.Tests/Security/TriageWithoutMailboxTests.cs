using System.Net;

namespace SmartMail.Web.Tests.Security;

/// <summary>Issue 24, finding 11: <c>/triage</c> without a mailbox shows the first mailbox's queue the user may see.</summary>
public sealed class TriageWithoutMailboxTests
{
    [Fact]
    public async Task Triage_WithoutAMailbox_GoesToTheFirstMailboxQueue()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        using var response = await admin.GetAsync("/triage", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/triage/A", response.Headers.Location?.OriginalString);
    }
}
