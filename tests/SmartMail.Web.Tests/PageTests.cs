using System.Net;

namespace SmartMail.Web.Tests;

/// <summary>What the pages show: paginated lists, masked previews, the decision, charts.</summary>
public sealed class PageTests
{
    private static readonly System.Globalization.CultureInfo Danish = System.Globalization.CultureInfo.GetCultureInfo("da");

    [Fact]
    public async Task Triage_ShowsOnePageOfTheQueue_WithTop3AndTheWhy()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, first, firstBody) = await admin.PageAsync("/triage/A");
        var (_, second, _) = await admin.PageAsync(first.TestIds("next-page").Single().GetAttribute("href")!);

        Assert.Equal(20, first.TestIds("mail-row").Count);
        Assert.Contains("Ansøgning nummer 1<", firstBody, StringComparison.Ordinal); // Danish letters as themselves
        Assert.Equal("25", first.TestIds("triage-count").Single().TextContent);
        Assert.Equal(5, second.TestIds("mail-row").Count);
        Assert.Equal("a21-0000-0000", second.TestIds("mail-row")[0].GetAttribute("data-decision-id"));
        Assert.Equal(20, server.Backend.LargestTake); // never the whole queue
        var row = first.TestIds("mail-row")[0];
        Assert.Equal("0", row.GetAttribute("tabindex"));
        Assert.Equal(["Social", "Skat", "Byg"], new[] { "suggest-1", "suggest-2", "suggest-3" }.Select(s => row.TestIds(s).Single().GetAttribute("data-label")));
        Assert.Contains("boligstøtte", row.TestIds("why").Single().TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_MasksCprNumbers_TheMailPageRevealsThemOnAsking()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, triage, triageBody) = await admin.PageAsync("/triage/A");
        var (_, mail, mailBody) = await admin.PageAsync("/mail/a01-0000-0000");
        var (_, full, _) = await admin.PageAsync(mail.TestIds("show-full").Single().GetAttribute("href")!);

        Assert.Contains("[CPR]", triage.TestIds("preview")[0].TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeBackend.CprNumber, triageBody, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeBackend.CprNumber, mailBody, StringComparison.Ordinal);
        Assert.Contains(FakeBackend.CprNumber, full.TestIds("mail-text").Single().TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MailText_IsHtmlEncoded()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, page, body) = await admin.PageAsync("/search?subject=%3Cscript%3E");

        Assert.Equal(HttpStatusCode.OK, (await admin.PageAsync("/search")).Response.StatusCode);
        Assert.DoesNotContain("<script>", body.Replace("<script src=\"/assets/app.js\" defer></script>", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("<script>", page.TestIds("search-subject").Single().GetAttribute("value"));
    }

    [Fact]
    public async Task Search_FindsBySender_AndPaginates()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, page, _) = await admin.PageAsync("/search?sender=borger1");

        Assert.Equal("11", page.TestIds("search-count").Single().TextContent); // borger1 and borger10..19
        Assert.All(page.TestIds("mail-row"), r => Assert.StartsWith("borger1", r.TestIds("sender").Single().TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Counts_OfOne_AreSingular()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, triage, _) = await admin.PageAsync("/triage/B");
        var (_, search, _) = await admin.PageAsync("/search?sender=borger10");

        Assert.Equal("1 mail venter.", triage.TestIds("triage-count").Single().ParentElement!.TextContent.Split(" Taster")[0].Trim());
        Assert.StartsWith("1 mail fundet", search.TestIds("search-count").Single().ParentElement!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overview_Labels_Models_RenderTheirCharts()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (_, overview, _) = await admin.PageAsync("/");
        var (_, labels, _) = await admin.PageAsync("/labels");
        var (_, report, _) = await admin.PageAsync("/models/report/v2");

        var card = overview.TestIds("mailbox-card")[0];
        Assert.Equal("instance-1", card.TestIds("lease-holder").Single().TextContent);
        Assert.Equal(0.8.ToString("P1", Danish), card.TestIds("automation-rate").Single().TextContent); // "80,0 %": Danish by default
        Assert.Equal("120 ms", card.TestIds("latency-p50").Single().TextContent);
        Assert.NotEmpty(card.TestIds("volume-chart").Single().QuerySelectorAll("rect"));
        Assert.Equal(3, labels.TestIds("curve-chart").Single().QuerySelectorAll("circle").Length);
        Assert.Equal(0.6.ToString("P1", Danish), labels.TestIds("label-row")[1].TestIds("label-precision").Single().TextContent);
        Assert.Single(labels.TestIds("threshold-change"));
        Assert.Contains("v2 against v1", report.TestIds("model-report").Single().TextContent, StringComparison.Ordinal);
    }
}
