using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// The token authority unreachable (Entra ID or the network down) is transient: the worker says "cannot be reached ... retrying", and must retry
/// with back-off while mail waits in the inbox, not stop. Found on the Exchange profile: the first token request of two
/// workers starting at once on a loaded machine ran past a 3-second CommandTimeout, and both worker processes exited.
/// </summary>
public sealed class ExchangeAuthorityOutageTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task AuthorityUnreachable_WorkerKeepsRunning_AndRetriesWithBackoff()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await ExchangeOnline.StartAsync();
        // An https authority on a loopback port nobody listens on: every token request fails to connect.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var deadPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var settings = exchange.WorkerSettings(new Dictionary<string, string>
        {
            ["Mailboxes__0__OAuth2__Authority"] = $"https://127.0.0.1:{deadPort}/realms/smartmail",
        });
        var lines = new ConcurrentQueue<string>();
        using var worker = WorkerProcess.Start(exchange.Dovecot, Data.FullName, Model.ModelPath, 10, lines.Enqueue, settings);
        await WorkerProcess.WaitUntil(() => lines.Any(l => l.Contains("cannot be reached or failed", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));

        await Task.Delay(TimeSpan.FromSeconds(8), ct);

        foreach (var line in lines.Where(l => !l.StartsWith("      at ", StringComparison.Ordinal)).Take(40))
        {
            output.WriteLine(line);
        }
        Assert.False(worker.HasExited, "the worker stopped on a transient authority outage");
        var attempts = lines.Count(l => l.Contains("cannot be reached or failed", StringComparison.Ordinal));
        Assert.InRange(attempts, 2, 20); // retried, with back-off (no storm)
    }
}
