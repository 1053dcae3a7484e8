using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages;

/// <summary>What every page has: the queries, the signed-in user's access, the flash message after an action.</summary>
/// <param name="queries">The worker's queries.</param>
public abstract class AppPage(IOversightQueries queries) : PageModel
{
    /// <summary>Rows a list page shows.</summary>
    public const int PageSize = 20;

    private UserAccess? _access;
    private IReadOnlyList<string>? _mailboxes;

    protected IOversightQueries Queries => queries;

    internal UserAccess Access => _access ??= UserAccess.Of(User);

    /// <summary>The mailboxes the user may see.</summary>
    public IReadOnlyList<string> Mailboxes => _mailboxes ??= Access.Entitled(queries.Mailboxes());

    /// <summary>The 1-based page of a list (<c>?p=N</c>).</summary>
    [BindProperty(SupportsGet = true, Name = "p")]
    public int PageNumber { get; set; } = 1;

    protected int Skip => (Math.Max(1, PageNumber) - 1) * PageSize;

    /// <summary>
    /// Remembers an action's outcome for the next page and logs it (no personal data): <paramref name="done"/> in the
    /// request's language when it was done, else the worker's reason.
    /// </summary>
    protected void Flash(string action, ActionOutcome outcome, string done)
    {
        Flash(outcome.Ok ? done : Format.Fill(Texts.NotDone, outcome.Message), outcome.Ok);
        Logged(action, outcome.Ok);
    }

    /// <summary>Logs an action's outcome (no personal data).</summary>
    protected void Logged(string action, bool ok) =>
        WebLog.ActionDone(HttpContext.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory f ? f.CreateLogger(GetType()) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            action, ok);

    /// <summary>Offers the next page an undo of the routes of <paramref name="decisionIds"/> (when undo is on).</summary>
    protected void OfferUndo(string mailbox, IReadOnlyCollection<string> decisionIds)
    {
        if (decisionIds.Count > 0 && HttpContext.RequestServices.GetService(typeof(WebOptions)) is WebOptions { UndoWindow.Ticks: > 0 })
        {
            TempData["undo"] = string.Join(',', decisionIds);
            TempData["undo-mailbox"] = mailbox;
        }
    }

    protected void Flash(string message, bool ok)
    {
        TempData["flash"] = message;
        TempData["flash-ok"] = ok ? "true" : "false";
    }

    /// <summary>Why <paramref name="label"/> cannot be routed to in <paramref name="mailbox"/> (none chosen, not one of its departments), or <see langword="null"/>.</summary>
    protected string? ChoiceProblem(string mailbox, string? label) =>
        string.IsNullOrEmpty(label) ? Texts.ChooseDepartment
        : !queries.Departments(mailbox).Contains(label, StringComparer.Ordinal) ? Texts.NotADepartment
        : null;

    /// <summary>The mail if the user may see it; otherwise <see langword="null"/> (answered as 404, like an unknown id).</summary>
    protected MailDetail? EntitledMail(string? decisionId) =>
        string.IsNullOrEmpty(decisionId) || queries.GetMail(decisionId) is not { } mail || !Access.MaySee(mail.Summary.Mailbox) ? null : mail;

    /// <summary>An empty 404: nothing about whether the thing exists.</summary>
    protected static StatusCodeResult Nothing() => new(404);
}
