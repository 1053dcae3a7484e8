using System.Net;
using System.Text.Json;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Tests;

/// <summary>
/// Triage cannot misroute silently: no department is preselected, a route without a choice is refused with a message,
/// routes can be undone, several mails are routed at once (one audited action each), and the waiting count is live.
/// </summary>
public sealed class SafeTriageTests
{
    [Fact]
    public async Task Route_WithoutAChoice_IsRefusedWithAMessage_AndNothingIsPreselected()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, triage, _) = await admin.PageAsync("/triage/A");
        var (_, mail, _) = await admin.PageAsync("/mail/a01-0000-0000");

        using var fromTriage = await admin.SubmitAsync(triage.TestIds("mail-row")[0], "route-submit");
        var (_, afterTriage, _) = await admin.PageAsync(fromTriage.Headers.Location!.OriginalString);
        using var fromMail = await admin.SubmitAsync(mail.DocumentElement, "route-submit");
        var (_, afterMail, _) = await admin.PageAsync(fromMail.Headers.Location!.OriginalString);

        Assert.All(triage.TestIds("route-select").Concat(mail.TestIds("route-select")).Concat(triage.TestIds("bulk-select")),
            select => Assert.Equal("", ((AngleSharp.Html.Dom.IHtmlSelectElement)select).Value));
        Assert.Empty(server.Backend.Calls);
        foreach (var after in new[] { afterTriage, afterMail })
        {
            Assert.Equal("false", after.TestIds("flash").Single().GetAttribute("data-ok"));
            Assert.Contains("Vælg en afdeling, før du ruter mailen.", after.TestIds("flash").Single().TextContent, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bulk_RoutesEachTickedMail_AsItsOwnAction_AndOffersOneUndoForAll()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");
        var ticked = page.TestIds("mail-row").Take(3).Select(r => r.GetAttribute("data-decision-id")!).ToList();

        using var response = await admin.PostFormAsync(page, "bulk-form", [.. ticked.Select(id => ("decisionIds", id)), ("label", "Skat")]);
        var (_, after, _) = await admin.PageAsync(response.Headers.Location!.OriginalString);

        Assert.Equal(ticked.Select(id => ("route", id, (string?)"Skat", "local")), server.Backend.Calls);
        Assert.Equal("3 mails rutet til Skat.", after.TestIds("flash").Single().QuerySelector("span")!.TextContent);
        Assert.Equal(ticked, after.TestIds("undo").Single().Closest("form")!.QuerySelectorAll("input[name=decisionIds]").Select(i => i.GetAttribute("value")));
        Assert.All(page.TestIds("select"), box => Assert.Equal("bulk", box.GetAttribute("form")));
    }

    [Fact]
    public async Task Bulk_WithNothingTicked_IsRefused()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");

        using var response = await admin.PostFormAsync(page, "bulk-form", [("label", "Skat")]);
        var (_, after, _) = await admin.PageAsync(response.Headers.Location!.OriginalString);

        Assert.Empty(server.Backend.Calls);
        Assert.Equal("false", after.TestIds("flash").Single().GetAttribute("data-ok"));
    }

    [Fact]
    public async Task Undo_AfterARoute_CallsTheBackendWithTheUsersName_AndAnotherMailboxsMailIs404()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");
        using var routed = await admin.SubmitAsync(page.TestIds("mail-row")[0], "suggest-1");
        var (_, after, _) = await admin.PageAsync(routed.Headers.Location!.OriginalString);

        using var undone = await admin.SubmitAsync(after.DocumentElement, "undo");
        var (_, back, _) = await admin.PageAsync(undone.Headers.Location!.OriginalString);
        using var foreign = await admin.PostFormAsync(after, "undo", [("decisionIds", "b0000001-0000-0000")], replace: true);

        Assert.Equal([("route", "a01-0000-0000", (string?)"Social", "local"), ("undo", "a01-0000-0000", null, "local")], server.Backend.Calls);
        Assert.Contains(Texts.Undone, back.TestIds("flash").Single().TextContent, StringComparison.Ordinal);
        Assert.Empty(back.TestIds("undo")); // one undo offer per route
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
    }

    [Fact]
    public async Task UndoWindowZero_OffersNoUndo()
    {
        await using var server = await WebServer.StartAsync(new WebOptions { UndoWindow = TimeSpan.Zero });
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");

        using var routed = await admin.SubmitAsync(page.TestIds("mail-row")[0], "suggest-1");
        var (_, after, _) = await admin.PageAsync(routed.Headers.Location!.OriginalString);

        Assert.Equal("true", after.TestIds("flash").Single().GetAttribute("data-ok"));
        Assert.Empty(after.TestIds("undo"));
    }

    [Fact]
    public async Task Waiting_CountsTheUsersMailboxes_InTheNavigationAndAsJson_AndAnswers401WithoutSignIn()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        using var stranger = server.Client();
        stranger.DefaultRequestHeaders.Add("X-Requested-With", "fetch");

        var (_, page, _) = await admin.PageAsync("/labels");
        var json = await admin.GetStringAsync("/waiting", TestContext.Current.CancellationToken);
        using var refused = await stranger.GetAsync("/waiting", TestContext.Current.CancellationToken);

        Assert.Equal("25", page.TestIds("waiting-A").Single().TextContent);
        Assert.Equal("1", page.TestIds("waiting-B").Single().TextContent);
        Assert.Equal(new Dictionary<string, int> { ["A"] = 25, ["B"] = 1 }, JsonSerializer.Deserialize<Dictionary<string, int>>(json));
        Assert.Equal("polite", page.TestIds("live").Single().GetAttribute("aria-live"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task EmptyLists_Sayso_InASentence_NotBareHeaders()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, quarantine, _) = await admin.PageAsync("/quarantine?mailbox=B");
        var (_, search, _) = await admin.PageAsync("/search?subject=nothing-like-this");
        var (_, mail, _) = await admin.PageAsync("/mail/a01-0000-0000");

        Assert.Empty(quarantine.QuerySelectorAll("table"));
        Assert.Equal(Texts.NoQuarantine, quarantine.TestIds("quarantine-empty").Single().TextContent);
        Assert.Empty(search.QuerySelectorAll("table"));
        Assert.Equal(Texts.NoSearchResults, search.TestIds("search-empty").Single().TextContent);
        Assert.Equal(Texts.NoCorrections, mail.TestIds("corrections-empty").Single().TextContent);
    }
}
