using Microsoft.Playwright;

namespace SmartMail.Browser.Tests;

/// <summary>
/// Debian's chromium driven by Microsoft.Playwright's bundled driver (node ships in the package; no browser is
/// downloaded). <c>SMARTMAIL_CHROMIUM</c> names another executable.
/// </summary>
internal static class Chromium
{
    /// <summary>The browser executable.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("SMARTMAIL_CHROMIUM") is { Length: > 0 } other ? other : "/usr/bin/chromium";

    /// <summary>Why the browser tests cannot run here, or <see langword="null"/> when they can.</summary>
    public static string? WhyNot => File.Exists(ExecutablePath)
        ? null
        : $"{ExecutablePath} not found: the browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it).";

    /// <summary>Starts Playwright's driver and a headless chromium.</summary>
    /// <returns>Both; dispose the browser, then Playwright.</returns>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var playwright = await Playwright.CreateAsync();
        try
        {
            // Playwright starts chromium without its sandbox (chromiumSandbox defaults to false), which running as root needs.
            var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
