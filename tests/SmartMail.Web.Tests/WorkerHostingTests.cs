using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartMail.Worker;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Web.Tests;

/// <summary>The web app inside the real worker (the embedded default: drop folder, shipped model, SQLite) over real HTTP.</summary>
public sealed class WorkerHostingTests
{
    [Fact]
    public async Task Worker_ServesTheApp_WithItsOneTimeLink()
    {
        var root = RepositoryRoot();
        var data = Directory.CreateTempSubdirectory("smartmail-web-").FullName;
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={Path.Combine(root, "models/default/smartmail-20news.zip")}",
            "--SmartMail:Web:Url=http://127.0.0.1:0"], watch: true).Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var web = host.Services.GetRequiredService<WebHostService>();
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() });

            using var signIn = await client.GetAsync(web.SignInLink, TestContext.Current.CancellationToken);
            var (home, page, _) = await client.PageAsync(web.Address + "/");
            using var again = await new HttpClient().GetAsync(web.SignInLink, TestContext.Current.CancellationToken);

            Assert.StartsWith("http://127.0.0.1:", web.Address, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Equal(["drop"], page.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox")));
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SmartMail.sln not found above the test's folder");
    }
}
