using Microsoft.AspNetCore.Mvc;

namespace SmartMail.Web.Pages.Models;

/// <summary><c>/models/report/{version}</c>: a retrain comparison report (Markdown, shown as text).</summary>
public sealed class ReportModel(IOversightQueries queries) : AppPage(queries)
{
    public string Version { get; private set; } = string.Empty;

    public string Text { get; private set; } = string.Empty;

    public IActionResult OnGet(string version)
    {
        if (Queries.ModelReport(version) is not { } text)
        {
            return Nothing();
        }
        Version = version;
        Text = text;
        return Page();
    }
}
