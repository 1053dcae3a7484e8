using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// Every main page renders for an admin with its content (and, with <c>SMARTMAIL_SCREENSHOTS</c> set, is saved for docs/web.md).
/// </summary>
[Collection(WebWorldGroup.Name)]
public sealed class PagesTests(WebWorld world)
{
    [Fact]
    public async Task MainPages_RenderWithTheirContent_ForAnAdmin()
    {
        world.Require();
        var (mail, subject) = TestMails.ForTriage(TestMails.Tag());
        var (decisionId, _) = await world.WaitForDecisionAsync(WebWorld.MailboxA, await world.AppendAsync(WebWorld.MailboxA, mail));
        await world.DanishSamplesAsync(); // so the volumes and the automation rate show more than manual triage
        await using var context = await world.NewContextAsync();
        var page = await world.SignInAsync(context, WebWorld.Ida);

        await Expect(page.Locator("[data-testid=mailbox-card]")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("volume-chart").First).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "overview");

        await Visit(page, $"/triage/{WebWorld.MailboxA}", "triage-list", screenshot: null);
        await Expect(page.Locator($"[data-testid=mail-row][data-decision-id='{decisionId}']")).ToBeVisibleAsync();

        await Visit(page, $"/mail/{decisionId}", "decision", "mail");
        await Expect(page.GetByTestId("mail-text")).Not.ToContainTextAsync("010190-1234"); // masked
        await Expect(page.GetByTestId("top-row")).Not.ToHaveCountAsync(0);

        await Visit(page, $"/search?subject={Uri.EscapeDataString(subject)}", "search-results", "search");
        await Expect(page.GetByTestId("search-count")).ToHaveTextAsync("1");

        await Visit(page, "/labels", "label-list", "labels");
        await Expect(page.GetByTestId("curve-chart")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("curve-chart").Locator("circle")).Not.ToHaveCountAsync(0); // the shipped model's curve, not empty axes

        await Visit(page, "/models", "model-list", "models");
        await Visit(page, "/quarantine", "quarantine-empty", "quarantine"); // nothing is quarantined: a sentence, not bare headers
    }

    private static async Task Visit(IPage page, string path, string hook, string? screenshot)
    {
        var response = await page.GotoAsync(path);
        Assert.True(response!.Ok, $"{path}: {response.Status}");
        await Expect(page.GetByTestId(hook)).ToBeVisibleAsync();
        if (screenshot is not null)
        {
            await Screenshots.SaveAsync(page, screenshot);
        }
    }
}
