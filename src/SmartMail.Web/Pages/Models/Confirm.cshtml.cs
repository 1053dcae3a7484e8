using Microsoft.AspNetCore.Mvc;
using SmartMail.Web.Resources;

namespace SmartMail.Web.Pages.Models;

/// <summary><c>/models/confirm</c>: the confirmation step of promote and rollback (administrators; audited by the worker).</summary>
public sealed class ConfirmModel(IOversightQueries queries, IMailActions actions) : AppPage(queries)
{
    [BindProperty(SupportsGet = true)]
    public string? Op { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Version { get; set; }

    [BindProperty]
    public string? Reason { get; set; }

    public ModelVersionInfo? Target { get; private set; }

    public ModelVersionInfo? Current { get; private set; }

    public IActionResult OnGet() => Known() ? Page() : Nothing();

    public IActionResult OnPost()
    {
        if (!Known())
        {
            return Nothing();
        }
        var why = string.IsNullOrWhiteSpace(Reason) ? "from the web app" : Reason.Trim();
        var outcome = Op == "promote" ? actions.Promote(Target!.Version, Access.Name, why) : actions.Rollback(Access.Name, why);
        Flash(Op!, outcome, Op == "promote" ? Format.Fill(Texts.Promoted, Target!.Version) : Texts.RolledBack);
        return Redirect("/models");
    }

    private bool Known()
    {
        var versions = Queries.Models();
        Current = versions.FirstOrDefault(v => v.IsCurrent);
        switch (Op)
        {
            case "promote":
                Target = versions.FirstOrDefault(v => v.Version == Version);
                return Target is not null;
            case "rollback":
                return true;
            default:
                return false;
        }
    }
}
