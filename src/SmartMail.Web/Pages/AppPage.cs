using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging;

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

    /// <summary>Remembers an action's outcome for the next page and logs it (no personal data).</summary>
    protected void Flash(string action, ActionOutcome outcome)
    {
        TempData["flash"] = outcome.Message;
        TempData["flash-ok"] = outcome.Ok ? "true" : "false";
        WebLog.ActionDone(HttpContext.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory f ? f.CreateLogger(GetType()) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            action, outcome.Ok);
    }

    protected void Flash(string message, bool ok)
    {
        TempData["flash"] = message;
        TempData["flash-ok"] = ok ? "true" : "false";
    }

    /// <summary>The mail if the user may see it; otherwise <see langword="null"/> (answered as 404, like an unknown id).</summary>
    protected MailDetail? EntitledMail(string? decisionId) =>
        string.IsNullOrEmpty(decisionId) || queries.GetMail(decisionId) is not { } mail || !Access.MaySee(mail.Summary.Mailbox) ? null : mail;

    /// <summary>An empty 404: nothing about whether the thing exists.</summary>
    protected static StatusCodeResult Nothing() => new(404);
}
