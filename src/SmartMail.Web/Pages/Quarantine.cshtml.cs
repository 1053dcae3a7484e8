using Microsoft.AspNetCore.Mvc;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages;

/// <summary><c>/quarantine</c>: quarantined mail of the user's mailboxes with the reason; release to manual triage.</summary>
public sealed class QuarantineModel(IOversightQueries queries, IMailActions actions) : AppPage(queries)
{
    [BindProperty(SupportsGet = true)]
    public string? Mailbox { get; set; }

    public ResultPage<MailSummary> Results { get; private set; } = new([], 0);

    public IReadOnlyList<(MailSummary Mail, string Reason)> Rows { get; private set; } = [];

    public string PagerQuery => string.IsNullOrEmpty(Mailbox) ? string.Empty : "mailbox=" + Uri.EscapeDataString(Mailbox);

    public IActionResult OnGet()
    {
        // Administrators see every mailbox at once; a caseworker one of theirs at a time.
        if (!string.IsNullOrEmpty(Mailbox) && !Access.MaySee(Mailbox))
        {
            return Nothing();
        }
        var mailbox = string.IsNullOrEmpty(Mailbox) ? (Access.IsAdmin || Mailboxes.Count == 0 ? null : Mailboxes[0]) : Mailbox;
        if (mailbox is null && !Access.IsAdmin)
        {
            return Page();
        }
        Mailbox = mailbox;
        Results = Queries.Quarantine(mailbox, Skip, PageSize);
        Rows = [.. Results.Items.Where(m => Access.MaySee(m.Mailbox)).Select(m => (m, Queries.GetMail(m.DecisionId)?.Reason ?? string.Empty))];
        return Page();
    }

    public async Task<IActionResult> OnPostReleaseAsync(string decisionId, CancellationToken cancellationToken)
    {
        if (EntitledMail(decisionId) is not { } mail)
        {
            return Nothing();
        }
        Flash("release", await actions.ReleaseAsync(mail.Summary.DecisionId, Access.Name, cancellationToken), Texts.Released);
        return Redirect(string.IsNullOrEmpty(Mailbox) ? "/quarantine" : $"/quarantine?mailbox={Uri.EscapeDataString(Mailbox)}");
    }
}
