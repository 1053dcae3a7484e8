using System.Globalization;
using System.Text;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// WCAG 2.1 AA: axe-core scans every page in chromium, signed in as a caseworker, as an administrator and as the data
/// protection officer (the privacy pages), in Danish and in English; none may have a serious or critical violation. With <c>SMARTMAIL_AXE_TABLE</c> set, the scan table (page,
/// violations by impact) is written there as Markdown for docs/web.md.
/// </summary>
[Collection(WebWorldGroup.Name)]
public sealed class AccessibilityTests(WebWorld world)
{
    private static readonly string[] Impacts = ["critical", "serious", "moderate", "minor"];

    [Fact]
    public async Task EveryPage_HasNoSeriousOrCriticalViolation_ForACaseworkerAndAnAdmin_InDanishAndEnglish()
    {
        world.Require();
        var (mail, subject) = TestMails.ForTriage(TestMails.Tag());
        var (decisionId, _) = await world.WaitForDecisionAsync(WebWorld.MailboxA, await world.AppendAsync(WebWorld.MailboxA, mail));
        var caseworkerPages = new[]
        {
            "/", $"/triage/{WebWorld.MailboxA}", $"/mail/{decisionId}", $"/search?subject={Uri.EscapeDataString(subject)}", "/search?subject=no-such-mail",
            "/labels", "/quarantine",
        };
        var adminPages = caseworkerPages.Concat(["/models", "/models/confirm?op=rollback", $"/triage/{WebWorld.MailboxB}"]).ToArray();
        var privacyPages = new[] { "/", "/privacy", "/privacy/compliance" }; // the data protection officer: the privacy role only
        var rows = new List<(string Who, string Language, string Path, Dictionary<string, int> ByImpact, string Ids)>();

        foreach (var (who, login, locale, pages) in new[]
                 {
                     ("caseworker", WebWorld.Anna, "da-DK", caseworkerPages), ("admin", WebWorld.Ida, "da-DK", adminPages),
                     ("caseworker", WebWorld.Anna, "en-GB", caseworkerPages), ("admin", WebWorld.Ida, "en-GB", adminPages),
                     ("privacy", WebWorld.Dorte, "da-DK", privacyPages), ("privacy", WebWorld.Dorte, "en-GB", privacyPages),
                 })
        {
            await using var context = await world.NewContextAsync(locale);
            var page = await world.SignInAsync(context, login);
            foreach (var path in pages)
            {
                var response = await page.GotoAsync(path);
                Assert.True(response!.Ok, $"{path}: {response.Status}");
                await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", locale[..2]);
                var result = await page.RunAxe();
                var byImpact = Impacts.ToDictionary(i => i, i => result.Violations.Where(v => v.Impact == i).Sum(v => v.Nodes.Length));
                rows.Add((who, locale[..2], path.Replace(decisionId, "{id}", StringComparison.Ordinal).Replace(Uri.EscapeDataString(subject), "{subject}", StringComparison.Ordinal),
                    byImpact, string.Join(", ", result.Violations.Select(v => $"{v.Id} ({v.Impact})"))));
            }
        }

        WriteTable(rows);
        var bad = rows.Where(r => r.ByImpact["critical"] + r.ByImpact["serious"] > 0).Select(r => $"{r.Who} {r.Language} {r.Path}: {r.Ids}").ToList();
        Assert.True(bad.Count == 0, "serious or critical violations:\n" + string.Join('\n', bad));
    }

    private static void WriteTable(List<(string Who, string Language, string Path, Dictionary<string, int> ByImpact, string Ids)> rows)
    {
        if (Environment.GetEnvironmentVariable("SMARTMAIL_AXE_TABLE") is not { Length: > 0 } file)
        {
            return;
        }
        var table = new StringBuilder("| Page | Signed in as | Language | Critical | Serious | Moderate | Minor | Rules |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            table.Append(CultureInfo.InvariantCulture,
                $"| `{r.Path}` | {r.Who} | {r.Language} | {r.ByImpact["critical"]} | {r.ByImpact["serious"]} | {r.ByImpact["moderate"]} | {r.ByImpact["minor"]} | {(r.Ids.Length == 0 ? "–" : r.Ids)} |\n");
        }
        File.WriteAllText(file, table.ToString());
    }
}
