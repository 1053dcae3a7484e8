using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>Sign-in through the local OIDC provider, and what a signed-out request gets.</summary>
[Collection(WebWorldGroup.Name)]
public sealed class SignInTests(WebWorld world)
{
    [Fact]
    public async Task OidcSignIn_ThroughTheProvidersPage_ShowsTheUserAndOnlyTheirMailbox()
    {
        world.Require();
        var before = world.Authority.SignIns;
        await using var context = await world.NewContextAsync();

        var page = await world.SignInAsync(context, WebWorld.Anna);

        await Expect(page.GetByTestId("user-name")).ToContainTextAsync(WebWorld.Anna);
        await Expect(page.GetByTestId("nav-triage-" + WebWorld.MailboxA)).ToBeVisibleAsync();
        await Expect(page.GetByTestId("nav-triage-" + WebWorld.MailboxB)).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("nav-models")).ToHaveCountAsync(0);
        await Expect(page.Locator($"[data-testid=mailbox-card][data-mailbox={WebWorld.MailboxA}]")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=mailbox-card]")).ToHaveCountAsync(1);
        Assert.Equal(before + 1, world.Authority.SignIns);
        await Screenshots.SaveAsync(page, "overview-caseworker");
    }

    [Fact]
    public async Task SignedOut_GetsNoMailContent_PagesRedirectToSignIn_ActionsAreRefused()
    {
        world.Require();
        var ct = TestContext.Current.CancellationToken;
        var (mail, subject) = TestMails.ForTriage(TestMails.Tag());
        var (decisionId, _) = await world.WaitForDecisionAsync(WebWorld.MailboxA, await world.AppendAsync(WebWorld.MailboxA, mail));
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = world.Worker.WebUrl };

        foreach (var path in new[] { "/", $"/triage/{WebWorld.MailboxA}", $"/mail/{decisionId}", $"/mail/{decisionId}?full=true", "/search?subject=Sp", "/quarantine" })
        {
            using var response = await http.GetAsync(path, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode is HttpStatusCode.Found or HttpStatusCode.Unauthorized,
                $"{path}: {(int)response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.Found)
            {
                Assert.StartsWith("/login", response.Headers.Location!.IsAbsoluteUri ? response.Headers.Location.PathAndQuery : response.Headers.Location.ToString(),
                    StringComparison.Ordinal);
            }
            Assert.DoesNotContain(subject, body, StringComparison.Ordinal);
            Assert.DoesNotContain("borger-", body, StringComparison.Ordinal);
        }
        using var route = await http.PostAsync($"/triage/{WebWorld.MailboxA}", new FormUrlEncodedContent(
            new Dictionary<string, string> { ["decisionId"] = decisionId, ["label"] = "07 Affald og Genanvendelse" }), ct);
        Assert.True((int)route.StatusCode is 400 or 401 or 302, $"POST without sign-in: {(int)route.StatusCode}");
        Assert.Equal([WebWorld.TriageFolder], await world.FoldersOfAsync(WebWorld.MailboxA, LedgerFingerprint(decisionId)));
    }

    private string LedgerFingerprint(string decisionId) =>
        SmartMail.Worker.Tests.Integration.LedgerQuery.Rows(world.StateDb, $"SELECT fingerprint FROM mail WHERE decision_id='{decisionId}'").Single();
}
