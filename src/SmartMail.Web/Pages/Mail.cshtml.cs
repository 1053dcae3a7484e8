using Microsoft.AspNetCore.Mvc;
using SmartMail.Core.Privacy;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages;

/// <summary><c>/mail/{decisionId}</c>: the decision, corrections, history, "this was wrong", the text.</summary>
public sealed class MailModel(IOversightQueries queries, IMailActions actions) : AppPage(queries)
{
    public MailDetail Detail { get; private set; } = null!; // set by OnGet before the page renders

    public MailText? Text { get; private set; }

    public string? Body { get; private set; }

    public bool Full { get; private set; }

    public bool HasCpr { get; private set; }

    public IReadOnlyList<string> Departments { get; private set; } = [];

    public bool InTriage => Detail.Summary.State == "triage";

    public IActionResult OnGet(string decisionId, bool full = false)
    {
        if (EntitledMail(decisionId) is not { } detail)
        {
            return Nothing();
        }
        Detail = detail;
        Departments = Queries.Departments(detail.Summary.Mailbox);
        Text = Queries.GetText(detail.Summary.DecisionId);
        if (Text is not null)
        {
            HasCpr = Cpr.ContainsAny(Text.Body) || Cpr.ContainsAny(Text.Subject);
            Full = full;
            Body = full ? Text.Body : Cpr.Redact(Text.Body);
        }
        return Page();
    }

    public async Task<IActionResult> OnPostCorrectAsync(string decisionId, string? label, CancellationToken cancellationToken) =>
        await ActAsync(decisionId, label, "correct", Texts.Corrected_Flash, (id, user) => actions.CorrectAsync(id, label!, user, cancellationToken));

    public async Task<IActionResult> OnPostRouteAsync(string decisionId, string? label, CancellationToken cancellationToken) =>
        await ActAsync(decisionId, label, "route", Texts.Routed, (id, user) => actions.RouteAsync(id, label!, user, cancellationToken));

    private async Task<IActionResult> ActAsync(string decisionId, string? label, string action, string done, Func<string, string, Task<ActionOutcome>> act)
    {
        if (EntitledMail(decisionId) is not { } mail)
        {
            return Nothing();
        }
        if (ChoiceProblem(mail.Summary.Mailbox, label) is { } problem)
        {
            Flash(problem, ok: false);
        }
        else
        {
            var outcome = await act(mail.Summary.DecisionId, Access.Name); // label: checked above
            Flash(action, outcome, Format.Fill(done, label));
            if (outcome.Ok && action == "route")
            {
                OfferUndo(mail.Summary.Mailbox, [mail.Summary.DecisionId]);
            }
        }
        return Redirect($"/mail/{Uri.EscapeDataString(mail.Summary.DecisionId)}");
    }
}
