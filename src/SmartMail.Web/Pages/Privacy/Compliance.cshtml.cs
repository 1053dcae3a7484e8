using Microsoft.AspNetCore.Mvc;

namespace SmartMail.Web.Pages.Privacy;

/// <summary><c>/privacy/compliance</c> (privacy role): the compliance report (model cards, art. 30 record, oversight figures).</summary>
public sealed class ComplianceModel(IOversightQueries queries, IPrivacyRequests privacy) : AppPage(queries)
{
    public IActionResult OnGet() =>
        privacy.Available ? Content(privacy.ComplianceHtml(), "text/html; charset=utf-8") : NotFound();
}
