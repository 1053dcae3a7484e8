using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Imap;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Worker.Health;
using SmartMail.Worker.Imap;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>Throttling refusals (Exchange Online's wording) and the waits they cause: the parser, and a worker against a server that throttles.</summary>
public sealed class ServerThrottleTests
{
    [Theory]
    [InlineData("Request is throttled. Suggested Backoff Time: 299961 milliseconds", 299961)]
    [InlineData("BAD Request is throttled. Suggested Backoff Time: 178755 milliseconds", 178755)]
    [InlineData("[UNAVAILABLE] Too many connections, try again in 30 seconds", 30000)]
    [InlineData("Server busy, retry after 2 minutes", 120000)]
    [InlineData("Retry-After: 60", 60000)]
    public void IsThrottled_ReadsTheTimeHint(string text, int milliseconds)
    {
        Assert.True(ServerThrottle.IsThrottled(text, out var hint));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), hint);
    }

    [Theory]
    [InlineData("Server Unavailable. 15")] // Exchange's error code 15, not seconds
    [InlineData("[UNAVAILABLE] Server Unavailable. 21")]
    [InlineData("User is authenticated but not connected.")]
    [InlineData("Connection closed. Try again later")]
    [InlineData("[LIMIT] Maximum number of connections from user+IP exceeded")]
    public void IsThrottled_WithoutAHint(string text)
    {
        Assert.True(ServerThrottle.IsThrottled(text, out var hint));
        Assert.Null(hint);
    }

    [Theory]
    [InlineData("AUTHENTICATE failed.")]
    [InlineData("LOGIN failed.")]
    [InlineData("[AUTHENTICATIONFAILED] Authentication failed.")]
    [InlineData("The IMAP server has unexpectedly disconnected.")]
    [InlineData("")]
    public void IsThrottled_NotForOtherRefusals(string text) => Assert.False(ServerThrottle.IsThrottled(text, out _));

    [Fact]
    public void IsThrottled_LooksInsideMailKitsExceptions()
    {
        var login = new MailKit.Security.AuthenticationException("Server Unavailable. 15");
        var bye = new ImapProtocolException("Request is throttled. Suggested Backoff Time: 5000 milliseconds", new IOException("closed"));

        Assert.True(ServerThrottle.IsThrottled(login, out _));
        Assert.True(ServerThrottle.IsThrottled(new IOException("wrapped", bye), out var hint));
        Assert.Equal(TimeSpan.FromSeconds(5), hint);
    }

    [Fact]
    public void Wait_FollowsTheHint_Bounded_AndJittered_ElseGrowsExponentially()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), ServerThrottle.Wait(TimeSpan.FromSeconds(10), 1, 0));
        Assert.Equal(TimeSpan.FromSeconds(12), ServerThrottle.Wait(TimeSpan.FromSeconds(10), 1, 1));
        Assert.Equal(ServerThrottle.MaxWait, ServerThrottle.Wait(TimeSpan.FromHours(3), 1, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(1), ServerThrottle.Wait(TimeSpan.Zero, 1, 0));
        var first = ServerThrottle.Wait(null, 1, 0.5);
        var third = ServerThrottle.Wait(null, 3, 0.5);
        Assert.Equal(ServerThrottle.BaseWait, first);
        Assert.Equal(4 * first, third);
        Assert.Equal(ServerThrottle.MaxWait, ServerThrottle.Wait(null, 40, 0.99));
        Assert.True(ServerThrottle.Wait(null, 1, 0) < ServerThrottle.Wait(null, 1, 0.99));
    }

    [Fact]
    public async Task Worker_AgainstAServerThatSaysByeWithABackoffTime_WaitsThatLongBetweenConnections()
    {
        // Exchange Online's throttling BYE: the worker must stay away for the suggested time, not reconnect at once.
        await using var server = ThrottlingImapServer.Start(greeting: "* BYE Request is throttled. Suggested Backoff Time: 2000 milliseconds");
        var health = new WorkerHealth();
        using var worker = Worker(server.Port, health, out var store);

        await worker.StartAsync(TestContext.Current.CancellationToken);
        await OAuth2WorkerTests.WaitUntil(() => server.Connections.Count >= 3, TimeSpan.FromSeconds(30), "3 connection attempts");
        await worker.StopAsync(TestContext.Current.CancellationToken);
        store.Dispose();

        var times = server.Connections.ToArray();
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromSeconds(1.9), $"reconnected after {gap}"));
        Assert.Equal(HealthStatus.Degraded, health.Mailboxes["throttled"].Status);
    }

    [Fact]
    public async Task Worker_WhoseLoginIsRefusedAsServerUnavailable_BacksOff_AndDoesNotStopTheMailbox()
    {
        // "NO Server Unavailable. 15" to LOGIN is Exchange throttling, not a wrong password: wait and try again.
        await using var server = ThrottlingImapServer.Start(greeting: "* OK The Microsoft Exchange IMAP4 service is ready.", login: "NO Server Unavailable. 15");
        var health = new WorkerHealth();
        using var worker = Worker(server.Port, health, out var store);

        await worker.StartAsync(TestContext.Current.CancellationToken);
        await OAuth2WorkerTests.WaitUntil(() => server.Connections.Count >= 2, TimeSpan.FromSeconds(30), "a second connection attempt");
        await worker.StopAsync(TestContext.Current.CancellationToken);
        store.Dispose();

        var times = server.Connections.ToArray();
        Assert.True(times[1] - times[0] >= ServerThrottle.BaseWait * 0.8, $"reconnected after {times[1] - times[0]}");
        Assert.Equal(HealthStatus.Degraded, health.Mailboxes["throttled"].Status);
        Assert.True(worker.ExecuteTask is { IsFaulted: false });
    }

    private static ImapWorker Worker(int port, WorkerHealth health, out SqliteStateStore store)
    {
        var options = new ImapMailboxOptions
        {
            Name = "throttled", Host = "127.0.0.1", Port = port, Security = "None", AllowPlaintext = true, Username = "post", Password = "pw",
            CommandTimeout = TimeSpan.FromSeconds(5), UseLease = false,
        };
        var path = Path.Combine(Directory.CreateTempSubdirectory("smartmail-throttle-").FullName, "state.db");
        store = new SqliteStateStore(path);
        return new ImapWorker(options, _ => throw new InvalidOperationException("never connected"), store, TimeProvider.System, new NoLifetime(),
            NullLogger<ImapWorker>.Instance, health);
    }

    /// <summary>An IMAP server on 127.0.0.1 that throttles every connection: a BYE greeting, or a refused LOGIN. It records when each connection came.</summary>
    private sealed class ThrottlingImapServer : LoopbackServer
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly string _greeting;
        private readonly string? _login;

        private ThrottlingImapServer(string greeting, string? login)
        {
            (_greeting, _login) = (greeting, login);
            StartAccepting();
        }

        public ConcurrentQueue<TimeSpan> Connections { get; } = new();

        public static ThrottlingImapServer Start(string greeting, string? login = null) => new(greeting, login);

        protected override void OnAccepted() => Connections.Enqueue(_clock.Elapsed);

        protected override async Task ServeAsync(TcpClient tcp)
        {
            using var client = tcp;
            try
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
                await using var writer = new StreamWriter(stream, Encoding.ASCII, 1024, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
                await writer.WriteLineAsync(_greeting);
                if (_greeting.StartsWith("* BYE", StringComparison.Ordinal))
                {
                    return;
                }
                while (await reader.ReadLineAsync(Stopping) is { } line)
                {
                    var tag = line.Split(' ')[0];
                    var command = line.Split(' ').ElementAtOrDefault(1)?.ToUpperInvariant();
                    if (command == "CAPABILITY")
                    {
                        await writer.WriteLineAsync("* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+");
                        await writer.WriteLineAsync($"{tag} OK CAPABILITY completed.");
                    }
                    else if (command is "LOGIN" or "AUTHENTICATE")
                    {
                        await writer.WriteLineAsync($"{tag} {_login}");
                    }
                    else if (command == "LOGOUT")
                    {
                        await writer.WriteLineAsync("* BYE");
                        await writer.WriteLineAsync($"{tag} OK LOGOUT completed.");
                        return;
                    }
                    else
                    {
                        await writer.WriteLineAsync($"{tag} BAD Command Error. 10");
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}
