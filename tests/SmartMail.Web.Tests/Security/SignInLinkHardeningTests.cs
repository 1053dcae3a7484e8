using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SmartMail.Worker;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Web.Tests.Security;

/// <summary>
/// Issue 24, finding 3: the one-time sign-in link is an administrator's credential. It is accepted from the local machine
/// only (not through a reverse proxy), expires after 15 minutes, cannot be served behind a proxy without OpenID Connect,
/// and stays out of the service's log (a file only the service user reads holds it).
/// </summary>
public sealed class SignInLinkHardeningTests
{
    [Fact]
    public async Task SignIn_ForwardedByAProxy_IsForbidden_AndDoesNotSpendTheLink()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();
        using var proxied = new HttpRequestMessage(HttpMethod.Get, $"/signin?token={server.SignIn.Token}");
        proxied.Headers.Add("X-Forwarded-For", "203.0.113.7");

        using var refused = await client.SendAsync(proxied, TestContext.Current.CancellationToken);
        using var local = await client.GetAsync($"/signin?token={server.SignIn.Token}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, local.StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.10", false)]
    [InlineData("::ffff:192.0.2.10", false)]
    public void MayUse_OnlyFromLoopback(string remote, bool allowed)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(remote);

        Assert.Equal(allowed, OneTimeSignIn.MayUse(http));
    }

    [Fact]
    public void Create_BehindProxyWithoutOidc_FailsWithOneLineNamingTheSetting()
    {
        var backend = new FakeBackend();

        var ex = Assert.Throws<InvalidOperationException>(() =>
            WebApp.Create(new WebOptions { BehindProxy = true }, new WebAppContext(backend, backend, NullLoggerFactory.Instance)));

        Assert.StartsWith("SmartMail:Web:BehindProxy:", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Worker_Link_ExpiresAfterFifteenMinutes_AndIsWrittenToAPrivateFileNotTheLog()
    {
        var data = Directory.CreateTempSubdirectory("smartmail-signin-").FullName;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new WebServer.LogLines();
        var builder = WorkerHost.CreateBuilder([$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={Repository.DefaultModel}",
            "--SmartMail:Web:Url=http://127.0.0.1:0"], watch: true);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Logging.AddProvider(logs);
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var web = host.Services.GetRequiredService<WebHostService>();
            var token = host.Services.GetRequiredService<OneTimeSignIn>().Token;
            var file = Path.Combine(data, "web-signin-link.txt");

            clock.Advance(TimeSpan.FromMinutes(16));
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
            using var late = await client.GetAsync(web.SignInLink, TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.Forbidden, late.StatusCode);
            Assert.DoesNotContain(logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
            Assert.Contains(logs.Lines, l => l.Contains(file, StringComparison.Ordinal));
            Assert.Contains(token, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            Directory.Delete(data, recursive: true);
        }
    }
}
