using Microsoft.AspNetCore.Mvc;

namespace SmartMail.Web.Pages;

/// <summary>
/// <c>/waiting</c>: how many mails wait in manual triage in each of the user's mailboxes, as JSON (<c>{"A": 3}</c>), for
/// the navigation's live count (the page script asks every <see cref="WebOptions.RefreshInterval"/>).
/// </summary>
public sealed class WaitingModel(IOversightQueries queries) : AppPage(queries)
{
    public IActionResult OnGet() => new JsonResult(Mailboxes.ToDictionary(m => m, m => Queries.TriageQueue(m, 0, 0).Total, StringComparer.Ordinal));
}
