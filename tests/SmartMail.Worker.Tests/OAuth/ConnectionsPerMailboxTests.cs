using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// How many IMAP connections a running mailbox holds at once, counted at the server (<c>doveadm who</c>): the whole worker
/// host with IDLE, the lease and the correction scanner (every second) on the Exchange profile with OAuth2, while mail is
/// routed and the server restarts once. docs/operations.md ("Connections per mailbox") states the number: 4.
/// </summary>
public sealed class ConnectionsPerMailboxTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    /// <summary>The number docs/operations.md states.</summary>
    private const int Documented = 4;

    [Fact]
    public async Task RunningMailbox_HoldsAtMostTheDocumentedNumberOfConnections()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, secret) = authority.AddSecretClient(dovecot.User);
        var secretFile = Path.Combine(Data.FullName, "client-secret");
        await File.WriteAllTextAsync(secretFile, secret, ct);
        using var logs = new CapturingLoggerProvider();
        using var host = OAuth2Host.Build(Model.ModelPath, Data.FullName, dovecot, authority, clientId, secretFile, logs);
        var counts = new List<int>();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                counts.Add(await DovecotAdmin.ConnectionsAsync(dovecot));
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        await host.StartAsync(ct);
        var store = host.Services.GetRequiredService<IStateStore>();
        await dovecot.AppendAsync(OAuth2WorkerTests.Mail(0, 20));
        await OAuth2WorkerTests.WaitUntil(() => OAuth2WorkerTests.Acknowledged(store) == 20, TimeSpan.FromSeconds(90), "20 mails routed");
        await DovecotAdmin.KickAsync(dovecot);
        await dovecot.AppendAsync(OAuth2WorkerTests.Mail(20, 10));
        await OAuth2WorkerTests.WaitUntil(() => OAuth2WorkerTests.Acknowledged(store) == 30, TimeSpan.FromSeconds(90), "30 mails routed");
        await Task.Delay(TimeSpan.FromSeconds(3), ct); // a few correction scans more
        await host.StopAsync(ct);
        await watching.CancelAsync();
        await watcher;

        output.WriteLine($"connections of the mailbox at the server: max {counts.Max()} over {counts.Count} looks (histogram {string.Join(", ", counts.GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"))})");
        // The count works: more than one connection of the mailbox seen at once. (IDLE and the lease stay open; the work
        // connection is open while a batch is drained, and looks 100 ms apart, each a doveadm run, can miss that moment on
        // a loaded machine: CI 2026-12-07 saw at most 2 over 36 looks.)
        Assert.True(counts.Max() >= 2, $"the count works: IDLE and the lease seen at once (max {counts.Max()})");
        Assert.InRange(counts.Max(), 1, Documented);
    }
}
