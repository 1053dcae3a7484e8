using Microsoft.Playwright;
using SmartMail.Worker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// Safe triage in chromium against the real worker and Dovecot: a caseworker routes and undoes by keyboard only (Tab, Enter,
/// Space) with the focus visible at every stop; routes several mails at once and undoes them (in English); and sees the
/// waiting count rise live when mail arrives, announced politely.
/// </summary>
[Collection(WebWorldGroup.Name)]
public sealed class SafeTriageTests(WebWorld world)
{
    [Fact]
    public async Task KeyboardOnly_RouteWithoutAChoiceIsRefused_ThenASuggestionRoutes_AndSpaceOnUndoBringsItBack()
    {
        world.Require();
        var (fingerprint, decisionId, _) = await world.TriageMailAsync();
        await using var context = await world.NewContextAsync();
        var page = await world.SignInAsync(context, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        await page.GotoAsync($"/triage/{WebWorld.MailboxA}");
        var row = Row(page, decisionId);

        await TabToAsync(page, row.GetByTestId("route-submit"));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByTestId("flash")).ToHaveAttributeAsync("data-ok", "false");
        await Expect(page.GetByTestId("flash")).ToContainTextAsync("Vælg en afdeling, før du ruter mailen.");
        Assert.Equal([WebWorld.TriageFolder], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));

        var label = await Row(page, decisionId).GetByTestId("suggest-1").GetAttributeAsync("data-label");
        await TabToAsync(page, Row(page, decisionId).GetByTestId("suggest-1"));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByTestId("flash")).ToContainTextAsync($"Rutet til {label}.");
        Assert.Equal([await world.FolderOfLabelAsync(WebWorld.MailboxA, label!)], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));

        await TabToAsync(page, page.GetByTestId("undo"));
        await page.Keyboard.PressAsync(" ");
        await Expect(page.GetByTestId("flash")).ToContainTextAsync("Rutningen er fortrudt");
        await Expect(Row(page, decisionId)).ToBeVisibleAsync();
        Assert.Equal([WebWorld.TriageFolder], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));
        Assert.Equal([$"route-undone | {WebWorld.Anna}"], LedgerQuery.Rows(world.StateDb,
            $"SELECT outcome, by_whom FROM audit WHERE decision_id='{decisionId}' AND outcome = 'route-undone'"));
    }

    [Fact]
    public async Task Bulk_RoutesTheTickedMails_EachAudited_AndUndoBringsThemAllBack_InEnglish()
    {
        world.Require();
        var first = await world.TriageMailAsync();
        var second = await world.TriageMailAsync();
        await using var context = await world.NewContextAsync("en-GB");
        var page = await world.SignInAsync(context, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
        var label = await Row(page, first.DecisionId).GetByTestId("suggest-1").GetAttributeAsync("data-label");

        await Row(page, first.DecisionId).GetByTestId("select").CheckAsync();
        await Row(page, second.DecisionId).GetByTestId("select").CheckAsync();
        await page.GetByTestId("bulk-select").SelectOptionAsync(label!);
        await page.GetByTestId("bulk-submit").ClickAsync();

        await Expect(page.GetByTestId("flash")).ToContainTextAsync($"2 mails routed to {label}.");
        var folder = await world.FolderOfLabelAsync(WebWorld.MailboxA, label!);
        foreach (var (fingerprint, decisionId, _) in new[] { first, second })
        {
            Assert.Equal([folder], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));
            Assert.Equal([$"{label} | {WebWorld.Anna} | web"], LedgerQuery.Rows(world.StateDb, $"SELECT to_label, by_whom, via FROM correction WHERE decision_id='{decisionId}'"));
        }

        await page.GetByTestId("undo").ClickAsync();

        await Expect(page.GetByTestId("flash")).ToContainTextAsync("The route is undone: 2 mails wait in manual triage again.");
        foreach (var (fingerprint, decisionId, _) in new[] { first, second })
        {
            await Expect(Row(page, decisionId)).ToBeVisibleAsync();
            Assert.Equal([WebWorld.TriageFolder], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));
        }
    }

    [Fact]
    public async Task NewMail_RaisesTheWaitingCountLive_AnnouncesItPolitely_AndAnUntouchedQueueShowsIt()
    {
        world.Require();
        await using var busy = await world.NewContextAsync(reducedMotion: true);
        await using var idle = await world.NewContextAsync();
        var touched = await world.SignInAsync(busy, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        var untouched = await world.SignInAsync(idle, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        await untouched.GotoAsync($"/triage/{WebWorld.MailboxA}");
        await untouched.EvaluateAsync("() => { window.notReloaded = true; }");
        await touched.Keyboard.PressAsync("Shift"); // the caseworker is at work on this one: it is never reloaded under them
        var count = touched.GetByTestId($"waiting-{WebWorld.MailboxA}");
        var before = int.Parse(await count.TextContentAsync() ?? "", System.Globalization.CultureInfo.InvariantCulture);

        var (_, decisionId, _) = await world.TriageMailAsync();

        await Expect(count).ToHaveTextAsync((before + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 20_000 });
        await Expect(touched.GetByTestId("live")).ToHaveAttributeAsync("aria-live", "polite");
        await Expect(touched.GetByTestId("live-text")).ToContainTextAsync($"Ny post: {before + 1} {(before + 1 == 1 ? "mail venter" : "mails venter")}"); // Danish singular for one
        await Expect(touched.GetByTestId("show-new-mail")).ToBeVisibleAsync();
        Assert.Equal("none", await count.EvaluateAsync<string>("e => getComputedStyle(e).animationName")); // reduced motion: no pulse
        await Expect(Row(touched, decisionId)).ToHaveCountAsync(0); // not reloaded
        await Expect(Row(untouched, decisionId)).ToBeVisibleAsync(new() { Timeout = 20_000 });
        Assert.Null(await untouched.EvaluateAsync<bool?>("() => window.notReloaded ?? null"));
    }

    private static ILocator Row(IPage page, string decisionId) => page.Locator($"[data-testid=mail-row][data-decision-id='{decisionId}']");

    // Presses Tab until the target has the focus, checking at every stop that the focus can be seen.
    private static async Task TabToAsync(IPage page, ILocator target)
    {
        for (var i = 0; i < 400; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var focus = await page.EvaluateAsync<string>("""
                () => { const e = document.activeElement; const s = getComputedStyle(e);
                        return e.tagName + "#" + (e.dataset.testid || "") + "|" + s.outlineStyle + "|" + s.boxShadow; }
                """);
            var parts = focus.Split('|');
            Assert.False(parts[1] == "none" && parts[2] == "none", $"the focus on {parts[0]} is not visible");
            if (await target.EvaluateAsync<bool>("e => e === document.activeElement"))
            {
                return;
            }
        }
        Assert.Fail("the target was not reached with Tab");
    }
}
