using Microsoft.Playwright;
using SmartMail.Worker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// A caseworker triages mail in the browser, by click and by keyboard: the mail lands once in the chosen folder of the
/// real IMAP mailbox, and the ledger records a correction naming the caseworker.
/// </summary>
[Collection(WebWorldGroup.Name)]
public sealed class TriageTests(WebWorld world)
{
    [Fact]
    public async Task ClickOnASuggestion_RoutesTheMailOnceToThatFolder_AndRecordsACorrectionByTheCaseworker()
    {
        world.Require();
        await world.DanishSamplesAsync(); // for the screenshot: more Danish mail waiting than this test's own
        var (fingerprint, decisionId, subject) = await world.TriageMailAsync();
        await using var context = await world.NewContextAsync();
        var page = await world.SignInAsync(context, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        var row = Row(page, decisionId);
        await Expect(row.GetByTestId("subject")).ToHaveTextAsync(subject);
        await Expect(row.GetByTestId("preview")).Not.ToContainTextAsync("010190-1234"); // CPR masked in the preview
        await Screenshots.SaveAsync(page, "triage");
        var label = await row.GetByTestId("suggest-1").GetAttributeAsync("data-label");
        Assert.False(string.IsNullOrEmpty(label));

        await row.GetByTestId("suggest-1").ClickAsync();

        await Expect(page.GetByTestId("flash")).ToHaveAttributeAsync("data-ok", "true");
        await Expect(Row(page, decisionId)).ToHaveCountAsync(0);
        await AssertRoutedOnceAsync(fingerprint, decisionId, label!);
    }

    [Fact]
    public async Task KeyTwoOnAFocusedRow_RoutesTheMailToTheSecondSuggestion_Once()
    {
        world.Require();
        var (fingerprint, decisionId, _) = await world.TriageMailAsync();
        await using var context = await world.NewContextAsync();
        var page = await world.SignInAsync(context, WebWorld.Anna, $"/triage/{WebWorld.MailboxA}");
        var row = Row(page, decisionId);
        var label = await row.GetByTestId("suggest-2").GetAttributeAsync("data-label");
        Assert.False(string.IsNullOrEmpty(label));

        await row.FocusAsync();
        await page.Keyboard.PressAsync("2");

        await Expect(page.GetByTestId("flash")).ToHaveAttributeAsync("data-ok", "true");
        await Expect(Row(page, decisionId)).ToHaveCountAsync(0);
        await AssertRoutedOnceAsync(fingerprint, decisionId, label!);

        // Pressing again on the page (a double key press, a reload) changes nothing.
        await page.GotoAsync($"/triage/{WebWorld.MailboxA}");
        await page.Keyboard.PressAsync("2");
        await AssertRoutedOnceAsync(fingerprint, decisionId, label!);
    }

    private static ILocator Row(IPage page, string decisionId) => page.Locator($"[data-testid=mail-row][data-decision-id='{decisionId}']");

    private async Task AssertRoutedOnceAsync(string fingerprint, string decisionId, string label)
    {
        // The move is done by the time the page says so; the folders are read from the server, not from the app.
        Assert.Equal([await world.FolderOfLabelAsync(WebWorld.MailboxA, label)], await world.FoldersOfAsync(WebWorld.MailboxA, fingerprint));
        var corrections = LedgerQuery.Rows(world.StateDb,
            $"SELECT to_label, by_whom, via FROM correction WHERE decision_id='{decisionId}'");
        Assert.Equal([$"{label} | {WebWorld.Anna} | web"], corrections);
    }
}
