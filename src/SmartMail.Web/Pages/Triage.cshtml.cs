using Microsoft.AspNetCore.Mvc;
using SmartMail.Core.Privacy;

namespace SmartMail.Web.Pages;

/// <summary><c>/triage/{mailbox}</c>: the manual triage queue, oldest first, with the top-3 and one-click routing.</summary>
public sealed class TriageModel(IOversightQueries queries, IMailActions actions) : AppPage(queries)
{
    public string Mailbox { get; private set; } = string.Empty;

    public int Total { get; private set; }

    public IReadOnlyList<TriageRow> Rows { get; private set; } = [];

    public IReadOnlyList<string> Departments { get; private set; } = [];

    public IActionResult OnGet(string mailbox)
    {
        if (!Access.MaySee(mailbox))
        {
            return Nothing();
        }
        Mailbox = mailbox;
        Departments = Queries.Departments(mailbox);
        var page = Queries.TriageQueue(mailbox, Skip, PageSize);
        Total = page.Total;
        Rows = [.. page.Items.Select(m => new TriageRow(m, Queries.GetMail(m.DecisionId), Preview(m.DecisionId)))];
        return Page();
    }

    public async Task<IActionResult> OnPostRouteAsync(string mailbox, string decisionId, string label, CancellationToken cancellationToken)
    {
        if (!Access.MaySee(mailbox) || EntitledMail(decisionId) is not { } mail || mail.Summary.Mailbox != mailbox)
        {
            return Nothing();
        }
        if (!Queries.Departments(mailbox).Contains(label, StringComparer.Ordinal))
        {
            Flash("Choose one of the mailbox's departments.", ok: false);
        }
        else
        {
            Flash("route", await actions.RouteAsync(decisionId, label, Access.Name, cancellationToken));
        }
        return Redirect($"/triage/{Uri.EscapeDataString(mailbox)}{(PageNumber > 1 ? $"?p={PageNumber}" : string.Empty)}");
    }

    // Plain text, CPR numbers masked (the mail page shows them to whoever opens the mail); HTML-encoded by Razor.
    private string? Preview(string decisionId) => Queries.GetStoredText(decisionId) is { } text ? Format.Preview(Cpr.Redact(text.Body)) : null;
}

/// <summary>One mail of the queue.</summary>
/// <param name="Summary">The list view.</param>
/// <param name="Detail">The decision (top-3, why), if known.</param>
/// <param name="Preview">The masked preview, if text was kept.</param>
public sealed record TriageRow(MailSummary Summary, MailDetail? Detail, string? Preview);
