using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Web.Tests.Security;

/// <summary>
/// Issue 24, finding 8: the triage page showed its previews by extracting each of up to 20 journal mails again, attachments
/// included, in the worker's process, on every view. It reads the text stored at decision time instead: a journal file
/// changed after the decision does not show (the real worker, embedded default, over real HTTP).
/// </summary>
public sealed class TriageStoredTextTests
{
    [Fact]
    public async Task TriagePreview_IsTheStoredText_NotAReExtractionOfTheJournalFile()
    {
        var data = Directory.CreateTempSubdirectory("smartmail-triage-").FullName;
        var inbox = Path.Combine(data, "inbox");
        Directory.CreateDirectory(inbox);
        await File.WriteAllTextAsync(Path.Combine(inbox, "borger.eml"), Mail("Hej, jeg vil gerne høre hvornår jeg får svar på min ansøgning om tilskud."),
            TestContext.Current.CancellationToken);
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={Repository.DefaultModel}",
            "--SmartMail:Web:Url=http://127.0.0.1:0", "--SmartMail:PollInterval=00:00:00.200"], watch: true).Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var triage = Path.Combine(data, "journal", "_manual-triage");
            for (var waited = 0; waited < 600 && !(Directory.Exists(triage) && Directory.EnumerateFiles(triage, "*.eml").Any()); waited++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
            var file = Assert.Single(Directory.GetFiles(triage, "*.eml"));
            await File.WriteAllTextAsync(file, Mail("RE-EXTRACTED FROM THE JOURNAL FILE"), TestContext.Current.CancellationToken);
            var web = host.Services.GetRequiredService<WebHostService>();
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() });
            using (var signIn = await client.GetAsync(web.SignInLink, TestContext.Current.CancellationToken))
            {
                Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
            }

            var (response, _, body) = await client.PageAsync(web.Address + "/triage/drop");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("hvornår jeg får svar", body, StringComparison.Ordinal);
            Assert.DoesNotContain("RE-EXTRACTED", body, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            Directory.Delete(data, recursive: true);
        }
    }

    private static string Mail(string body) => $"""
        From: borger@example.dk
        To: post@kommune.test
        Subject: Spørgsmål om min sag
        Message-ID: <triage-stored@example.dk>
        Date: Tue, 01 Dec 2026 09:30:00 +0100
        Content-Type: text/plain; charset=utf-8

        {body} Venlig hilsen en borger
        """.Replace("\n", "\r\n", StringComparison.Ordinal);
}
