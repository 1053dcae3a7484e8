using System.Globalization;
using System.Net;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Tests;

/// <summary>
/// Issue 25's pages in the reader's language (Danish first): <c>/privacy</c> and <c>/privacy/compliance</c> take their texts
/// from the resources, <c>lang</c> is right on the page and on the English parts (the worker's findings, the report), and the
/// navigation links to them for the privacy role. Over a fake privacy service (the real one: the browser tests).
/// </summary>
public sealed class PrivacyPagesTests
{
    [Theory]
    [InlineData("da-DK,da;q=0.9", "da")]
    [InlineData("en-GB,en;q=0.9", "en")]
    public async Task PrivacyPages_SpeakTheReadersLanguage_MarkTheEnglishParts_AndTheNavigationLinksThem(string acceptLanguage, string lang)
    {
        await using var server = await WebServer.StartAsync(privacy: new FakePrivacy());
        using var dpo = await server.LocalAdminAsync(); // the local user of the embedded default holds the privacy role too
        dpo.DefaultRequestHeaders.Add("Accept-Language", acceptLanguage);
        var culture = CultureInfo.GetCultureInfo(lang == "da" ? "" : lang);
        string Text(string key) => Texts.ResourceManager.GetString(key, culture)!;

        var (response, page, _) = await dpo.PageAsync("/privacy");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(lang, page.DocumentElement.GetAttribute("lang"));
        Assert.Equal(Text(nameof(Texts.PrivacyTitle)), page.QuerySelector("h1")!.TextContent);
        Assert.Equal(Text(nameof(Texts.PrivacyFind)), Assert.Single(page.TestIds("privacy-find")).TextContent);
        Assert.Equal(Text(nameof(Texts.PrivacyKindCpr)), page.QuerySelector("[data-testid=privacy-kind] option[value=cpr]")!.TextContent);
        var link = Assert.Single(page.TestIds("nav-privacy"));
        Assert.Equal(Text(nameof(Texts.NavPrivacy)), link.TextContent);
        Assert.Equal("page", link.GetAttribute("aria-current"));

        var (compliance, report, _) = await dpo.PageAsync("/privacy/compliance");

        Assert.Equal(HttpStatusCode.OK, compliance.StatusCode);
        Assert.Equal(lang, report.DocumentElement.GetAttribute("lang"));
        Assert.Equal(Text(nameof(Texts.ComplianceTitle)), Assert.Single(report.QuerySelectorAll("h1")).TextContent); // the report's own title is an h2
        var body = Assert.Single(report.TestIds("compliance-report"));
        Assert.Equal("en", body.GetAttribute("lang"));
        Assert.Equal("SmartMail compliance report", body.QuerySelector("h2")!.TextContent);
        Assert.Single(report.TestIds("nav-privacy"));
    }

    [Theory]
    [InlineData(2, 3, "2 mails på 3 steder")]
    [InlineData(1, 1, "1 mail på 1 sted")] // Danish singular (was "1 mails på 1 steder")
    public async Task PrivacyPage_Findings_AreMarkedEnglish_AndTheSummaryIsInTheReadersLanguage(int mails, int places, string summary)
    {
        await using var server = await WebServer.StartAsync(privacy: new FakePrivacy(mails, places));
        using var dpo = await server.LocalAdminAsync();
        var (_, form, _) = await dpo.PageAsync("/privacy");
        var fields = form.QuerySelectorAll("[data-testid=privacy-form] input[type=hidden][name]") // the anti-forgery token
            .Select(f => KeyValuePair.Create(f.GetAttribute("name")!, f.GetAttribute("value") ?? ""))
            .Where(f => f.Key != "DryRun")
            .Concat([KeyValuePair.Create("Kind", "address"), KeyValuePair.Create("Value", "borger@example.dk")]).ToList();

        using var content = new FormUrlEncodedContent(fields);
        using var posted = await dpo.PostAsync("/privacy?handler=Find", content, TestContext.Current.CancellationToken);
        var html = await posted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var page = await new AngleSharp.Html.Parser.HtmlParser().ParseDocumentAsync(html, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal(summary, Assert.Single(page.TestIds("privacy-summary")).TextContent);
        var result = Assert.Single(page.TestIds("privacy-result"));
        Assert.Equal("en", result.GetAttribute("lang"));
        Assert.Equal($"Found {mails} mails in {places} places.", result.TextContent);
        Assert.DoesNotContain("borger@example.dk", html, StringComparison.Ordinal);
    }

    private sealed class FakePrivacy(int mails = 2, int places = 3) : IPrivacyRequests
    {
        public bool Available => true;

        public PrivacyAnswer Find(string kind, string value, string user) => new($"Found {mails} mails in {places} places.", mails, places);

        public byte[] Export(string kind, string value, string user) => [];

        public PrivacyAnswer EraseAll(string kind, string value, string user, bool dryRun) => new("Erased 2 mails.", 2, 3);

        public string ComplianceHtml() => "<h2>SmartMail compliance report</h2>\n<h3>Record of processing (GDPR art. 30)</h3>\n<p>text</p>\n";
    }
}
