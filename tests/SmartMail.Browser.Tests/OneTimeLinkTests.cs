using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>
/// The README's main command on the embedded default (<c>smartmail run --watch</c>, no settings, no OIDC) serves the app
/// on loopback and prints a sign-in link that works once.
/// </summary>
public sealed partial class OneTimeLinkTests : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("smartmail-link-");
    private SmartMailProcess? _process;
    private Microsoft.Playwright.IPlaywright? _playwright;
    private Microsoft.Playwright.IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        if (Chromium.WhyNot is not null)
        {
            return;
        }
        // The embedded default: the sample inbox under .smartmail/ in the working directory, the shipped model.
        _process = await SmartMailProcess.StartAsync(_directory.FullName, [$"SmartMail:ModelPath={SmartMailProcess.DefaultModel}"]);
        (_playwright, _browser) = await Chromium.LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task EmbeddedDefault_PrintsASignInLink_ThatWorksOnce()
    {
        Assert.SkipWhen(Chromium.WhyNot is not null, Chromium.WhyNot ?? string.Empty);
        var line = await _process!.WaitForLineAsync(l => l.Contains("/signin?token=", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var link = LinkPattern().Match(line).Value;
        Assert.StartsWith(_process.WebUrl.ToString().TrimEnd('/') + "/signin?token=", link, StringComparison.Ordinal);
        await using var first = await _browser!.NewContextAsync();
        await using var second = await _browser.NewContextAsync();

        var page = await first.NewPageAsync();
        await page.GotoAsync(link);
        await Expect(page.GetByTestId("user-name")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=mailbox-card]")).Not.ToHaveCountAsync(0);
        var again = await second.APIRequest.GetAsync(link, new() { MaxRedirects = 0 }); // a spent token: an empty 403

        Assert.Equal(403, again.Status);
        Assert.DoesNotContain("data-testid=\"mailbox-card\"", await again.TextAsync(), StringComparison.Ordinal);
        await page.ReloadAsync(); // the first browser stays signed in
        await Expect(page.GetByTestId("user-name")).ToBeVisibleAsync();
    }

    [GeneratedRegex(@"https?://\S+/signin\?token=[^\s]+")]
    private static partial Regex LinkPattern();
}
