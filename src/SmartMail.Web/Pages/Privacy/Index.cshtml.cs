using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace SmartMail.Web.Pages.Privacy;

/// <summary><c>/privacy</c> (privacy role): find, export and erase one citizen's data; each run is audited with who did it.</summary>
public sealed class PrivacyIndexModel(IOversightQueries queries, IPrivacyRequests privacy) : AppPage(queries)
{
    public bool Available => privacy.Available;

    [BindProperty]
    public string Kind { get; set; } = "cpr";

    // The value is never echoed back into the page: the form comes back empty.
    [BindProperty]
    public string? Value { get; set; }

    [BindProperty]
    public bool DryRun { get; set; } = true;

    public PrivacyAnswer? Answer { get; private set; }

    public string? Problem { get; private set; }

    public IActionResult OnPostFind() => Run(() => privacy.Find(Kind, Value ?? "", Access.Name));

    public IActionResult OnPostErase() => Run(() => privacy.EraseAll(Kind, Value ?? "", Access.Name, DryRun));

    public IActionResult OnPostExport()
    {
        if (!Available)
        {
            return Page();
        }
        try
        {
            return File(privacy.Export(Kind, Value ?? "", Access.Name), "application/zip", "smartmail-indsigt.zip");
        }
        catch (ArgumentException ex)
        {
            Problem = ex.Message.Split(" (Parameter", 2)[0];
            return Page();
        }
    }

    private PageResult Run(Func<PrivacyAnswer> request)
    {
        if (Available)
        {
            try
            {
                Answer = request();
            }
            catch (ArgumentException ex)
            {
                Problem = ex.Message.Split(" (Parameter", 2)[0];
            }
        }
        Value = null;
        ModelState.Clear();
        return Page();
    }
}
