using Microsoft.Playwright;

namespace SmartMail.Browser.Tests;

/// <summary>
/// Screenshots of the main pages for docs/web.md: written to <c>SMARTMAIL_SCREENSHOTS</c> (e.g. <c>docs/web</c>) as
/// <c>&lt;page&gt;.png</c> when it is set (a run done by hand and committed); nothing otherwise (CI writes nothing into the repository).
/// </summary>
internal static class Screenshots
{
    /// <summary>The folder, or <see langword="null"/> when screenshots are off.</summary>
    public static string? Directory => Environment.GetEnvironmentVariable("SMARTMAIL_SCREENSHOTS") is { Length: > 0 } dir ? dir : null;

    /// <summary>Saves the page as <c>NAME.png</c> when screenshots are on.</summary>
    /// <param name="page">The page.</param>
    /// <param name="name">The file's name without extension.</param>
    public static async Task SaveAsync(IPage page, string name)
    {
        if (Directory is not { } dir)
        {
            return;
        }
        System.IO.Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, name + ".png"), FullPage = true });
    }
}
