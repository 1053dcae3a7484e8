using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>A caseworker sees only the mailboxes their role or group entitles them to: not in lists, not by direct URL.</summary>
[Collection(WebWorldGroup.Name)]
public sealed class EntitlementTests(WebWorld world)
{
    [Fact]
    public async Task CaseworkerOfA_CannotSeeMailboxB_ByPageSearchOrDirectUrl_WhileB_sCaseworkerCan()
    {
        world.Require();
        var (mail, subject) = TestMails.ForTriage(TestMails.Tag());
        var (decisionId, _) = await world.WaitForDecisionAsync(WebWorld.MailboxB, await world.AppendAsync(WebWorld.MailboxB, mail));
        await using var annas = await world.NewContextAsync();
        await using var bos = await world.NewContextAsync();
        var anna = await world.SignInAsync(annas, WebWorld.Anna);
        var bo = await world.SignInAsync(bos, WebWorld.Bo, $"/triage/{WebWorld.MailboxB}");

        // The control: B's caseworker (entitled by group) sees the mail, so its absence below means something.
        await Expect(bo.Locator($"[data-testid=mail-row][data-decision-id='{decisionId}']")).ToBeVisibleAsync();

        await Expect(anna.GetByTestId("nav-triage-" + WebWorld.MailboxB)).ToHaveCountAsync(0);
        // Anna's own cookies, sent as the browser would (chromium turns an empty 404 into a navigation error, so no page.GotoAsync).
        foreach (var path in new[] { $"/triage/{WebWorld.MailboxB}", $"/mail/{decisionId}", $"/mail/{decisionId}?full=true" })
        {
            var response = await annas.APIRequest.GetAsync(path, new() { MaxRedirects = 0 });
            Assert.Equal(404, response.Status);
            Assert.DoesNotContain(subject, await response.TextAsync(), StringComparison.Ordinal);
        }
        await anna.GotoAsync($"/search?subject={Uri.EscapeDataString(subject)}");
        await Expect(anna.GetByTestId("search-count")).ToHaveTextAsync("0");
        await Expect(anna.Locator($"[data-decision-id='{decisionId}']")).ToHaveCountAsync(0); // (the search box echoes what she typed)
        await bo.GotoAsync($"/search?subject={Uri.EscapeDataString(subject)}");
        await Expect(bo.GetByTestId("search-count")).ToHaveTextAsync("1");

        // A caseworker is no admin.
        var models = await annas.APIRequest.GetAsync("/models", new() { MaxRedirects = 0 });
        Assert.Equal(403, models.Status);
    }
}
