using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Localization;
using SmartMail.Core.Text;

namespace SmartMail.Web;

/// <summary>
/// How the pages show numbers and times: in the request's language (Danish unless the browser or the user asks for English)
/// and times in the configured zone (<see cref="WebOptions.TimeZone"/>, Europe/Copenhagen by default).
/// </summary>
/// <param name="zone">The zone times are shown in.</param>
public sealed class Format(TimeZoneInfo zone)
{
    /// <summary>The cookie the language switch sets.</summary>
    public const string LanguageCookie = "SmartMail.Language";

    /// <summary>The zone times are shown in.</summary>
    public TimeZoneInfo Zone => zone;

    /// <summary>A time as the zone's local time, e.g. <c>2026-12-06 23:30</c>.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The text.</returns>
    public string Time(DateTimeOffset time) => Local(time).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The hour of a time in the zone, e.g. <c>23:00</c>.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The text.</returns>
    public string Hour(DateTimeOffset time) => Local(time).ToString("HH':00'", CultureInfo.InvariantCulture);

    /// <summary>The UTC start of a calendar day (<c>yyyy-MM-dd</c>) in the zone.</summary>
    /// <param name="date">The day.</param>
    /// <returns>Its first instant.</returns>
    public DateTimeOffset StartOfDay(DateTime date)
    {
        var midnight = DateTime.SpecifyKind(date.Date, DateTimeKind.Unspecified);
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    /// <summary>A time in the zone.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The same instant with the zone's offset.</returns>
    public DateTimeOffset Local(DateTimeOffset time) => TimeZoneInfo.ConvertTime(time, zone);

    /// <summary>A share as a percentage with one decimal, e.g. <c>80,0 %</c> in Danish.</summary>
    /// <param name="share">The share (0..1).</param>
    /// <returns>The text; a dash when unknown.</returns>
    public static string Share(double? share) => share is { } s ? s.ToString("P1", CultureInfo.CurrentCulture) : "–";

    /// <summary>A confidence with two decimals.</summary>
    /// <param name="confidence">The confidence.</param>
    /// <returns>The text; a dash when unknown.</returns>
    public static string Confidence(float? confidence) => confidence is { } c ? c.ToString("F2", CultureInfo.CurrentCulture) : "–";

    /// <summary>A number with up to three decimals.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The text.</returns>
    public static string Number(double value) => value.ToString("0.###", CultureInfo.CurrentCulture);

    /// <summary>A latency in ms, s or min.</summary>
    /// <param name="latency">The latency.</param>
    /// <returns>The text; a dash when unknown.</returns>
    public static string Latency(TimeSpan? latency) => latency switch
    {
        null => "–",
        { TotalSeconds: < 1 } l => $"{l.TotalMilliseconds.ToString("F0", CultureInfo.CurrentCulture)} ms",
        { TotalMinutes: < 2 } l => $"{l.TotalSeconds.ToString("F1", CultureInfo.CurrentCulture)} s",
        var l => $"{l.Value.TotalMinutes.ToString("F0", CultureInfo.CurrentCulture)} min",
    };

    /// <summary>Fills a resource's placeholders in the request's language.</summary>
    /// <param name="text">The resource text.</param>
    /// <param name="args">The values.</param>
    /// <returns>The sentence.</returns>
    public static string Fill(string text, params object?[] args) => string.Format(CultureInfo.CurrentCulture, text, args);

    /// <summary>The language of the page (<c>da</c> or <c>en</c>), for <c>&lt;html lang&gt;</c>.</summary>
    public static string PageLanguage => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName;

    /// <summary>The language of a mail's text when it can be told (<c>da</c>, <c>en</c>), for its element's <c>lang</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The language, or <see langword="null"/> when unsure (the element then has no <c>lang</c> of its own).</returns>
    public static string? LanguageOf(string? text) => string.IsNullOrWhiteSpace(text) ? null : LanguageGuesser.Guess(text);

    /// <summary>The first <paramref name="max"/> characters of <paramref name="text"/>, at a word break.</summary>
    /// <param name="text">The text.</param>
    /// <param name="max">The most characters.</param>
    /// <returns>The preview.</returns>
    public static string Preview(string text, int max = 400)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (flat.Length <= max)
        {
            return flat;
        }
        var cut = flat.LastIndexOf(' ', max);
        return string.Concat(flat.AsSpan(0, cut > max / 2 ? cut : max), "…");
    }

    /// <summary>
    /// How a request's language is chosen: the language switch (a cookie), then the browser's Accept-Language, then
    /// <paramref name="fallback"/>; Danish and English are spoken.
    /// </summary>
    /// <param name="fallback">The configured language (<see cref="WebOptions.Language"/>).</param>
    /// <returns>The middleware's options.</returns>
    internal static RequestLocalizationOptions Localization(string fallback)
    {
        var cultures = WebOptions.Languages.Select(CultureInfo.GetCultureInfo).ToList();
        var options = new RequestLocalizationOptions
        {
            DefaultRequestCulture = new RequestCulture(fallback),
            SupportedCultures = cultures,
            SupportedUICultures = cultures,
            FallBackToParentCultures = true,
            FallBackToParentUICultures = true,
        };
        options.RequestCultureProviders =
        [
            new CookieRequestCultureProvider { CookieName = LanguageCookie },
            new AcceptLanguageHeaderRequestCultureProvider(),
        ];
        return options;
    }
}
