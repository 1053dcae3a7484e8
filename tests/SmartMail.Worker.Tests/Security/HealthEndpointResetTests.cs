using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 2: a client that resets its connection to the health endpoint mid-request must not stop the worker.
/// The real worker (drop folder, shipped model, SQLite) with <c>HealthUrl</c> set, 1,000 requests each closed with
/// SO_LINGER 0 (a TCP reset), then a mail dropped into the inbox must still be routed.
/// </summary>
public sealed class HealthEndpointResetTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact]
    public async Task HealthEndpoint_ThousandAbruptResets_LeaveTheWorkerRouting()
    {
        var port = Sinks.LoopbackPort.Free();
        var url = $"http://127.0.0.1:{port}/health/";
        using var host = WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={Model.ModelPath}",
            $"--SmartMail:DataDirectory={Data.FullName}",
            $"--SmartMail:HealthUrl={url}",
            "--SmartMail:PollInterval=00:00:00.200",
            "--SmartMail:Web:Enabled=false",
        ]).Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var request = Encoding.ASCII.GetBytes($"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            for (var i = 0; i < 1000 && !lifetime.ApplicationStopping.IsCancellationRequested; i++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
                await socket.SendAsync(request, TestContext.Current.CancellationToken);
                socket.LingerState = new LingerOption(true, 0); // Close sends RST, not FIN
                socket.Close();
            }

            var inbox = Path.Combine(Data.FullName, "inbox");
            Directory.CreateDirectory(inbox);
            await File.WriteAllTextAsync(Path.Combine(inbox, "after-resets.eml"), Mails.Space(1), TestContext.Current.CancellationToken);
            var journal = Path.Combine(Data.FullName, "journal");
            for (var waited = 0; waited < 600 && !Routed(journal) && !lifetime.ApplicationStopping.IsCancellationRequested; waited++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
            using var client = new HttpClient();
            using var health = lifetime.ApplicationStopping.IsCancellationRequested ? null
                : await client.GetAsync(new Uri(url), TestContext.Current.CancellationToken);

            Assert.False(lifetime.ApplicationStopping.IsCancellationRequested, "the host stopped after the resets");
            Assert.True(Routed(journal), "the mail dropped after the resets was not routed");
            Assert.Equal(HttpStatusCode.OK, health?.StatusCode);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static bool Routed(string journal) =>
        Directory.Exists(journal) && Directory.EnumerateFiles(journal, "*.eml", SearchOption.AllDirectories).Any();
}
