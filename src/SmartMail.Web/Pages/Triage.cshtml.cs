using Microsoft.AspNetCore.Mvc;
using SmartMail.Core.Privacy;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages;

/// <summary>
/// <c>/triage/{mailbox}</c>: the manual triage queue, oldest first, with the top-3 and one-click routing, bulk routing of the
/// ticked mails (each its own audited action), and undo of the routes just made.
/// </summary>
public sealed class TriageModel(IOversightQueries queries, IMailActions actions, WebOptions options) : AppPage(queries)
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

    public Task<IActionResult> OnPostRouteAsync(string mailbox, string decisionId, string? label, CancellationToken cancellationToken) =>
        RouteAsync(mailbox, [decisionId], label, cancellationToken);

    public Task<IActionResult> OnPostBulkAsync(string mailbox, string[]? decisionIds, string? label, CancellationToken cancellationToken) =>
        RouteAsync(mailbox, decisionIds ?? [], label, cancellationToken);

    public async Task<IActionResult> OnPostUndoAsync(string mailbox, string[]? decisionIds, CancellationToken cancellationToken)
    {
        if (!Access.MaySee(mailbox) || decisionIds is not { Length: > 0 } || !Mine(mailbox, decisionIds))
        {
            return Nothing();
        }
        var failures = new List<string>();
        foreach (var id in decisionIds.Distinct(StringComparer.Ordinal))
        {
            var outcome = await actions.UndoRouteAsync(id, Access.Name, options.UndoWindow, cancellationToken);
            Logged("undo", outcome.Ok);
            if (!outcome.Ok)
            {
                failures.Add(outcome.Message);
            }
        }
        var undone = decisionIds.Distinct(StringComparer.Ordinal).Count() - failures.Count;
        Flash(failures.Count > 0 ? Format.Fill(Texts.NotDone, string.Join(" ", failures.Distinct(StringComparer.Ordinal)))
            : undone == 1 ? Texts.Undone : Format.Fill(Texts.UndoneMany, undone), failures.Count == 0);
        return Back(mailbox);
    }

    private async Task<IActionResult> RouteAsync(string mailbox, string[] decisionIds, string? label, CancellationToken cancellationToken)
    {
        if (!Access.MaySee(mailbox) || !Mine(mailbox, decisionIds))
        {
            return Nothing();
        }
        if (decisionIds.Length == 0)
        {
            Flash(Texts.NoneSelected, ok: false);
        }
        else if (ChoiceProblem(mailbox, label) is { } problem)
        {
            Flash(problem, ok: false);
        }
        else
        {
            var routed = new List<string>();
            var failures = new List<string>();
            foreach (var id in decisionIds.Distinct(StringComparer.Ordinal))
            {
                // One action per mail: each is recorded and audited by the worker on its own.
                var outcome = await actions.RouteAsync(id, label!, Access.Name, cancellationToken); // label: ChoiceProblem checked it
                Logged("route", outcome.Ok);
                (outcome.Ok ? routed : failures).Add(outcome.Ok ? id : outcome.Message);
            }
            Flash(failures.Count > 0 ? Format.Fill(failures.Count == 1 ? Texts.SomeNotDoneOne : Texts.SomeNotDone, failures.Count, string.Join(" ", failures.Distinct(StringComparer.Ordinal)))
                : routed.Count == 1 ? Format.Fill(Texts.Routed, label) : Format.Fill(Texts.RoutedMany, routed.Count, label), failures.Count == 0);
            OfferUndo(mailbox, routed);
        }
        return Back(mailbox);
    }

    // Every mail named must be one of the mailbox's (an id of another mailbox is answered like an unknown one).
    private bool Mine(string mailbox, string[] decisionIds) =>
        decisionIds.All(id => EntitledMail(id) is { } mail && mail.Summary.Mailbox == mailbox);

    private RedirectResult Back(string mailbox) =>
        Redirect($"/triage/{Uri.EscapeDataString(mailbox)}{(PageNumber > 1 ? $"?p={PageNumber}" : string.Empty)}");

    // Plain text, CPR numbers masked (the mail page shows them to whoever opens the mail); HTML-encoded by Razor.
    private string? Preview(string decisionId) => Queries.GetStoredText(decisionId) is { } text ? Format.Preview(Cpr.Redact(text.Body)) : null;
}

/// <summary>One mail of the queue.</summary>
/// <param name="Summary">The list view.</param>
/// <param name="Detail">The decision (top-3, why), if known.</param>
/// <param name="Preview">The masked preview, if text was kept.</param>
public sealed record TriageRow(MailSummary Summary, MailDetail? Detail, string? Preview);
