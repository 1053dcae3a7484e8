using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages;

/// <summary><c>/search</c>: decided mail of the user's mailboxes by sender, subject, date range or decision id, newest first.</summary>
public sealed class SearchModel(IOversightQueries queries, Format format) : AppPage(queries)
{
    [BindProperty(SupportsGet = true)]
    public string? Sender { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Subject { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? From { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? To { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Id { get; set; }

    public ResultPage<MailSummary> Results { get; private set; } = new([], 0);

    public string Query { get; private set; } = string.Empty;

    public string? Problem { get; private set; }

    public void OnGet()
    {
        if (Mailboxes.Count == 0)
        {
            return;
        }
        var from = Date(From, Texts.FromDate);
        var to = Date(To, Texts.ToDate)?.AddDays(1); // the To day is included
        var id = Blank(Id);
        if (id is { Length: < 8 })
        {
            Problem = Texts.IdTooShort;
            id = null;
        }
        var query = new MailQuery(Mailboxes, Blank(Sender), Blank(Subject), from, to, id);
        Results = Queries.FindMail(query, Skip, PageSize);
        Query = string.Join('&', new[] { ("sender", Sender), ("subject", Subject), ("from", From), ("to", To), ("id", Id) }
            .Where(p => !string.IsNullOrWhiteSpace(p.Item2)).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
    }

    private DateTimeOffset? Date(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (DateTime.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return format.StartOfDay(date); // a day in the zone the pages show times in
        }
        Problem = Format.Fill(Texts.BadDate, field);
        return null;
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
