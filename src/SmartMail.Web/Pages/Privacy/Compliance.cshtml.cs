using Microsoft.AspNetCore.Mvc;

namespace SmartMail.Web.Pages.Privacy;

/// <summary>
/// <c>/privacy/compliance</c> (privacy role): the compliance report (model cards, art. 30 record, oversight figures) in the
/// app's page, its heading and introduction in the reader's language, the report itself marked English.
/// </summary>
public sealed class ComplianceModel(IOversightQueries queries, IPrivacyRequests privacy) : AppPage(queries)
{
    /// <summary>The report as an HTML fragment (every value encoded by the report).</summary>
    public string Report { get; private set; } = string.Empty;

    public IActionResult OnGet()
    {
        if (!privacy.Available)
        {
            return NotFound();
        }
        Report = privacy.ComplianceHtml();
        return Page();
    }
}
