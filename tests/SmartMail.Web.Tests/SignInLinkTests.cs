using System.Net;
using SmartMail.Core.Privacy;

namespace SmartMail.Web.Tests;

/// <summary>The one-time sign-in link of the embedded default (loopback, no OpenID Connect), over real HTTP.</summary>
public sealed class SignInLinkTests
{
    [Fact]
    public async Task SignIn_FirstUse_SignsInAsLocalAdmin()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();

        using var signIn = await client.GetAsync($"/signin?token={server.SignIn.Token}", TestContext.Current.CancellationToken);
        var (response, page, _) = await client.PageAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local", page.TestIds("user-name").Single().TextContent);
        Assert.Equal(["A", "B"], page.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox")));
        Assert.Single(page.TestIds("nav-models")); // the local user administers
    }

    [Fact]
    public async Task SignIn_SecondUse_IsForbiddenWithNoContent()
    {
        await using var server = await WebServer.StartAsync();
        using var first = await server.LocalAdminAsync();
        using var second = server.Client();

        using var again = await second.GetAsync($"/signin?token={server.SignIn.Token}", TestContext.Current.CancellationToken);
        var (home, _, _) = await second.PageAsync("/");

        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        Assert.Empty(await again.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode); // still signed out
    }

    [Theory]
    [InlineData("")]
    [InlineData("wrong")]
    [InlineData("?")]
    public async Task SignIn_WrongToken_IsForbidden_AndDoesNotSpendTheLink(string token)
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();

        using var wrong = await client.GetAsync($"/signin?token={Uri.EscapeDataString(token)}", TestContext.Current.CancellationToken);
        using var right = await client.GetAsync($"/signin?token={server.SignIn.Token}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Empty(await wrong.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
    }

    [Fact]
    public async Task SignIn_TokenAndMailContent_NeverReachTheLog()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();
        using var wrong = await client.GetAsync("/signin?token=nope", TestContext.Current.CancellationToken);
        using var admin = await server.LocalAdminAsync();

        foreach (var path in new[] { "/", "/triage/A", "/triage/B", "/mail/b0000001-0000-0000?full=true", "/search?sender=bodil", "/labels", "/models", "/quarantine", "/nowhere" })
        {
            using var _ = await admin.GetAsync(path, TestContext.Current.CancellationToken);
        }

        var logged = string.Join('\n', server.Logs.Lines);
        Assert.DoesNotContain(server.SignIn.Token, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeBackend.SecretOfB, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeBackend.SenderOfB, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("bodil", logged, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(FakeBackend.CprNumber, logged, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_SurvivesTheRedactingLogger()
    {
        for (var i = 0; i < 2000; i++)
        {
            var link = new OneTimeSignIn().Link("http://127.0.0.1:5080");

            Assert.Equal(link, Redactor.Redact(link));
        }
    }
}
