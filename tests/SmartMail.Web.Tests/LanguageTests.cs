using System.Collections;
using System.Globalization;
using System.Net;
using System.Resources;
using System.Text.RegularExpressions;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Tests;

/// <summary>Danish first, English by the browser's preference or the switch; every text in both languages; times in the configured zone.</summary>
public sealed partial class LanguageTests
{
    [Fact]
    public void Texts_EveryKeyHasBothLanguages_WithTheSamePlaceholders()
    {
        var danish = Entries(CultureInfo.InvariantCulture);
        var english = Entries(CultureInfo.GetCultureInfo("en"));

        Assert.True(danish.Count > 150, $"only {danish.Count} texts");
        Assert.Equal(danish.Keys.Order(StringComparer.Ordinal), english.Keys.Order(StringComparer.Ordinal));
        Assert.All(danish, d =>
        {
            Assert.False(string.IsNullOrWhiteSpace(d.Value), $"{d.Key} has no Danish text");
            Assert.False(string.IsNullOrWhiteSpace(english[d.Key]), $"{d.Key} has no English text");
            Assert.True(Placeholders(d.Value).SequenceEqual(Placeholders(english[d.Key])), $"{d.Key}: the placeholders differ between the languages");
        });
        Assert.Equal("Log ud", danish[nameof(Texts.SignOut)]);
        Assert.Equal("Sign out", english[nameof(Texts.SignOut)]);
    }

    // The model's reasons are recorded in English (the audit trail's words); a page words them in its own language.
    [Theory]
    [InlineData("da", "model: '23 Borgerlige forhold' at 0.844 is below its threshold 0.947", "modellen: '23 Borgerlige forhold' med 0,844 er under etikettens tærskel 0,947")]
    [InlineData("da", "model: 'sci.space' at 0.99 reached its threshold 0.9", "modellen: 'sci.space' med 0,99 nåede etikettens tærskel 0,9")]
    [InlineData("da", "model: 'comp.graphics' at 0.998, but that label is manual-only (too little evidence for automatic routing)",
        "modellen: 'comp.graphics' med 0,998, men den etiket fordeles kun af en person (for lidt at lære af til automatisk fordeling)")]
    [InlineData("en", "model: '23 Borgerlige forhold' at 0.844 is below its threshold 0.947", "model: '23 Borgerlige forhold' at 0.844 is below its threshold 0.947")]
    [InlineData("da", "model: 'x' at 0.500 is below its threshold 0.900 (raised in service: 3 of 20 wrong)", "model: 'x' at 0.500 is below its threshold 0.900 (raised in service: 3 of 20 wrong)")]
    [InlineData("da", "rule 'Skat' matched the subject", "rule 'Skat' matched the subject")]
    public void Reason_TheModelsReasonsInThePagesLanguage_OtherReasonsAsRecorded(string language, string recorded, string shown)
    {
        var (culture, ui) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(language);
            Assert.Equal(shown, Words.Reason(recorded));
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = (culture, ui);
        }
    }

    [Theory]
    [InlineData(null, "da", "Log ud")]
    [InlineData("da-DK,da;q=0.9", "da", "Log ud")]
    [InlineData("en-GB,en;q=0.9", "en", "Sign out")]
    [InlineData("de-DE,de;q=0.9", "da", "Log ud")] // neither: the configured language
    public async Task Pages_SpeakTheBrowsersLanguage_DanishByDefault(string? acceptLanguage, string lang, string signOut)
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        if (acceptLanguage is not null)
        {
            admin.DefaultRequestHeaders.Add("Accept-Language", acceptLanguage);
        }

        foreach (var path in new[] { "/", "/triage/A", "/mail/a01-0000-0000", "/search", "/labels", "/quarantine", "/models", "/models/report/v2" })
        {
            var (response, page, _) = await admin.PageAsync(path);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(lang, page.DocumentElement.GetAttribute("lang"));
            Assert.Equal(signOut, page.TestIds("signout").Single().TextContent);
        }
    }

    [Fact]
    public async Task Setting_Language_En_MakesEnglishTheDefault_AndTheSwitchOverridesTheBrowser()
    {
        await using var server = await WebServer.StartAsync(new WebOptions { Language = "en" });
        using var admin = await server.LocalAdminAsync();

        var (_, english, _) = await admin.PageAsync("/");
        using var switched = await admin.GetAsync(english.TestIds("language-switch").Single().GetAttribute("href"), TestContext.Current.CancellationToken);
        admin.DefaultRequestHeaders.Add("Accept-Language", "en");
        var (_, danish, _) = await admin.PageAsync(switched.Headers.Location!.OriginalString);

        Assert.Equal("en", english.DocumentElement.GetAttribute("lang"));
        Assert.Equal("da", english.TestIds("language-switch").Single().GetAttribute("lang"));
        Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
        Assert.Equal("da", danish.DocumentElement.GetAttribute("lang"));
        Assert.Equal("Postkasser", danish.QuerySelector("h1")!.TextContent);
    }

    [Theory]
    [InlineData(null, "Nedsat")]
    [InlineData("en", "Degraded")]
    public async Task MailboxHealth_TheStatusInThePagesLanguage_TheWorkersDescriptionMarkedEnglish(string? acceptLanguage, string status)
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        if (acceptLanguage is not null)
        {
            admin.DefaultRequestHeaders.Add("Accept-Language", acceptLanguage);
        }

        var (_, page, _) = await admin.PageAsync("/");

        Assert.All(page.TestIds("health-status"), s => Assert.Equal(status, s.TextContent));
        Assert.All(page.TestIds("health-detail"), d =>
        {
            Assert.Equal("reconnecting after a dropped connection", d.TextContent);
            Assert.Equal("en", d.GetAttribute("lang"));
        });
        Assert.NotEmpty(page.TestIds("health-detail"));
    }

    [Fact]
    public async Task MailText_CarriesItsOwnLanguage()
    {
        await using var server = await WebServer.StartAsync(new WebOptions { Language = "en" });
        using var admin = await server.LocalAdminAsync();

        var (_, mail, _) = await admin.PageAsync("/mail/a01-0000-0000");
        var (_, triage, _) = await admin.PageAsync("/triage/A");

        Assert.Equal("en", mail.DocumentElement.GetAttribute("lang"));
        Assert.Equal("da", mail.TestIds("mail-text").Single().GetAttribute("lang"));
        Assert.Equal("da", triage.TestIds("preview")[0].GetAttribute("lang"));
    }

    [Fact]
    public async Task Times_AreShownInCopenhagen_UnlessConfigured()
    {
        await using var copenhagen = await WebServer.StartAsync();
        await using var utc = await WebServer.StartAsync(new WebOptions { TimeZone = "UTC" });
        using var a = await copenhagen.LocalAdminAsync();
        using var b = await utc.LocalAdminAsync();

        var (_, inCopenhagen, _) = await a.PageAsync("/triage/A");
        var (_, inUtc, _) = await b.PageAsync("/triage/A");

        // The first mail came at 2026-11-30 08:01 UTC: 09:01 in Copenhagen (winter time).
        Assert.Equal("2026-11-30 09:01", inCopenhagen.TestIds("received")[0].TextContent);
        Assert.Equal("2026-11-30 08:01", inUtc.TestIds("received")[0].TextContent);
    }

    [Theory]
    [InlineData("TimeZone", "Mars/Olympus", "SmartMail:Web:TimeZone: 'Mars/Olympus' is not a time zone")]
    [InlineData("Language", "fr", "SmartMail:Web:Language: 'fr' is not a language the pages speak")]
    public void BadSetting_FailsTheStart_WithOneLineNamingIt(string setting, string value, string message)
    {
        var options = new WebOptions();
        typeof(WebOptions).GetProperty(setting)!.SetValue(options, value);

        var failure = Assert.Single(options.Validate("SmartMail:Web"));

        Assert.StartsWith(message, failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    private static Dictionary<string, string> Entries(CultureInfo culture)
    {
        var set = Texts.ResourceManager.GetResourceSet(culture, createIfNotExists: true, tryParents: false)
            ?? throw new MissingManifestResourceException($"no texts for '{culture.Name}'");
        return set.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string)e.Value!, StringComparer.Ordinal);
    }

    private static IEnumerable<string> Placeholders(string text) => Placeholder().Matches(text).Select(m => m.Value).Order(StringComparer.Ordinal);

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex Placeholder();
}
