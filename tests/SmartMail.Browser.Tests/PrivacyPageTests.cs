using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// Issue 25: the privacy page in a real chromium against the real worker (IMAP, OpenID Connect): the privacy role finds a
/// citizen's mail by address and erases it, each run audited with who did it; a caseworker cannot open the page.
/// </summary>
[Collection(WebWorldGroup.Name)]
public sealed class PrivacyPageTests(WebWorld world)
{
    [Fact]
    public async Task PrivacyPage_FindThenErase_ByTheDpo_AuditedAndClosedToCaseworkers()
    {
        world.Require();
        var tag = TestMails.Tag();
        var (mail, _) = TestMails.ForTriage(tag);
        var address = $"borger-{tag}@example.dk";
        await world.WaitForDecisionAsync(WebWorld.MailboxA, await world.AppendAsync(WebWorld.MailboxA, mail));
        await using var dpoContext = await world.NewContextAsync();
        var dpo = await world.SignInAsync(dpoContext, WebWorld.Dorte, "/privacy");
        await using var annaContext = await world.NewContextAsync();
        var anna = await world.SignInAsync(annaContext, WebWorld.Anna);

        // In Danish, with a link in the navigation for the privacy role only.
        await Expect(dpo.Locator("html")).ToHaveAttributeAsync("lang", "da");
        await Expect(dpo.Locator("h1")).ToHaveTextAsync("Anmodninger om persondata");
        await Expect(dpo.GetByTestId("nav-privacy")).ToHaveAttributeAsync("aria-current", "page");
        await Expect(anna.GetByTestId("nav-overview")).ToBeVisibleAsync();
        await Expect(anna.GetByTestId("nav-privacy")).ToHaveCountAsync(0);

        await dpo.GetByTestId("privacy-kind").SelectOptionAsync("address");
        await dpo.GetByTestId("privacy-value").FillAsync(address);
        await dpo.GetByTestId("privacy-find").ClickAsync();
        await Expect(dpo.GetByTestId("privacy-summary")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^1 mail på (1 sted|\d+ steder)$"));
        await Expect(dpo.GetByTestId("privacy-result")).Not.ToContainTextAsync(address);
        await Expect(dpo.GetByTestId("privacy-result")).ToHaveAttributeAsync("lang", "en"); // the worker's findings, in English
        await Expect(dpo.GetByTestId("privacy-value")).ToHaveValueAsync("");
        await Screenshots.SaveAsync(dpo, "privacy");

        await dpo.GetByTestId("privacy-kind").SelectOptionAsync("address");
        await dpo.GetByTestId("privacy-value").FillAsync(address);
        await dpo.GetByTestId("privacy-dry-run").UncheckAsync();
        await dpo.GetByTestId("privacy-erase").ClickAsync();
        await Expect(dpo.GetByTestId("privacy-result")).ToContainTextAsync("Erased 1 mails");

        await dpo.GetByTestId("privacy-kind").SelectOptionAsync("address");
        await dpo.GetByTestId("privacy-value").FillAsync(address);
        await dpo.GetByTestId("privacy-find").ClickAsync();
        await Expect(dpo.GetByTestId("privacy-summary")).ToContainTextAsync("0 mails");

        await dpo.GetByTestId("compliance-link").ClickAsync();
        await Expect(dpo.Locator("h1")).ToHaveTextAsync("Compliance-rapport");
        await Expect(dpo.GetByTestId("compliance-report")).ToHaveAttributeAsync("lang", "en");
        await Expect(dpo.GetByTestId("compliance-report").Locator("h2")).ToHaveTextAsync("SmartMail compliance report");
        await Expect(dpo.GetByTestId("nav-privacy")).ToBeVisibleAsync();
        var refused = await annaContext.APIRequest.GetAsync("/privacy", new() { MaxRedirects = 0 });
        Assert.Equal(403, refused.Status);
        var refusedReport = await annaContext.APIRequest.GetAsync("/privacy/compliance", new() { MaxRedirects = 0 });
        Assert.Equal(403, refusedReport.Status);
        using var state = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={world.StateDb};Mode=ReadOnly;Pooling=false");
        state.Open();
        using var audit = state.CreateCommand();
        audit.CommandText = "SELECT by_whom || ' ' || reason FROM audit WHERE outcome IN ('privacy-find', 'privacy-erase') ORDER BY seq";
        using var rows = audit.ExecuteReader();
        var lines = new List<string>();
        while (rows.Read())
        {
            lines.Add(rows.GetString(0));
        }
        Assert.Equal(3, lines.Count); // find, erase, find
        Assert.All(lines, l => Assert.StartsWith("web: " + WebWorld.Dorte, l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain(address, l, StringComparison.Ordinal));
    }
}
