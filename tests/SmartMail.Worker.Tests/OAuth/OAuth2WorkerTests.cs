using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Health;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// A running <see cref="ImapWorker"/> signing in with OAuth2 (MSAL, the real local OpenID Connect authority) to a real Dovecot
/// on the Exchange Online profile that introspects each token: tokens that expire mid-run, a client revoked mid-run, and what
/// reaches the logs at Trace.
/// </summary>
public sealed class OAuth2WorkerTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Fact]
    public async Task TokenExpiry_MidRun_ReconnectsWithAFreshToken_AndRoutesTheRestExactlyOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        authority.TokenLifetime = TimeSpan.FromSeconds(3);
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, secret) = authority.AddSecretClient(dovecot.User);
        var options = MailboxOptions(dovecot, authority, clientId, o => o.ClientSecret = secret);
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, _, worker) = run;
        var appended = await AppendAsync(dovecot, Mail(0, 10));

        await worker.StartAsync(ct);
        await WaitUntil(() => Acknowledged(store) == 10, TimeSpan.FromSeconds(60), "the first 10 mails routed");
        var tokensBefore = authority.IssuedTokens.Count;
        await Task.Delay(authority.TokenLifetime + TimeSpan.FromSeconds(1), ct); // every token issued so far has expired
        await DovecotAdmin.KickAsync(dovecot); // the server drops the connections: the worker must sign in again
        appended.AddRange(await AppendAsync(dovecot, Mail(10, 10)));
        await WaitUntil(() => Acknowledged(store) == 20, TimeSpan.FromSeconds(90), "the other 10 mails routed after the reconnect");
        await worker.StopAsync(ct);

        Assert.True(authority.IssuedTokens.Count > tokensBefore, $"no fresh token after the reconnect ({tokensBefore} before, {authority.IssuedTokens.Count} after)\n{dovecot.Log()}");
        Assert.Contains(logs.Lines, l => l.Event.Id == 2103); // the connection was lost and made again
        Assert.Contains(logs.Lines, l => l.Event.Id == 2107); // without CONDSTORE: plain claims, the lease guards (docs/reliability.md)
        Assert.True(authority.IssuedTokens.Count >= 2);
        await AssertEachMailInOneFolderOnceAsync(dovecot, appended);
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Critical);
    }

    [Fact]
    public async Task RevokedClient_MidRun_StopsTheMailbox_WithOneCriticalLine_AndNoRetryStorm()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        authority.TokenLifetime = TimeSpan.FromMinutes(60); // cached, as Entra ID's are: the revocation shows at the server first
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, secret) = authority.AddSecretClient(dovecot.User);
        var options = MailboxOptions(dovecot, authority, clientId, o => o.ClientSecret = secret);
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, health, worker) = run;
        await dovecot.AppendAsync(Mail(0, 5));

        await worker.StartAsync(ct);
        await WaitUntil(() => Acknowledged(store) == 5, TimeSpan.FromSeconds(60), "5 mails routed");
        authority.Revoke(clientId);
        var tokensAtRevocation = authority.TokenRequests;
        await DovecotAdmin.KickAsync(dovecot); // the worker must sign in again, with a client that no longer exists
        await WaitUntil(() => health.Mailboxes.TryGetValue(options.Name, out var h) && h.Status == HealthStatus.Unhealthy,
            TimeSpan.FromSeconds(60), "the mailbox stopped");
        var tokensAtStop = authority.TokenRequests;
        await Task.Delay(TimeSpan.FromSeconds(10), ct); // a retrying worker would ask again meanwhile
        await worker.StopAsync(ct);

        Assert.True(worker.ExecuteTask is { IsFaulted: false }, worker.ExecuteTask?.Exception?.ToString());
        var critical = Assert.Single(logs.Lines, l => l.Level == LogLevel.Critical);
        Assert.Equal(2111, critical.Event.Id);
        Assert.Contains("invalid_client", critical.Text, StringComparison.Ordinal);
        Assert.Contains("ClientId", critical.Text, StringComparison.Ordinal);
        Assert.InRange(tokensAtStop - tokensAtRevocation, 1, 3);
        Assert.Equal(tokensAtStop, authority.TokenRequests);
        Assert.DoesNotContain(secret, string.Join("\n", logs.Lines.Select(l => l.Text)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenAuthorityDown_IsAnOutage_TheMailboxWaitsAndRetries_NotStopsOrCrashes()
    {
        var ct = TestContext.Current.CancellationToken;
        var authority = await LocalOidcAuthority.StartAsync();
        var issuer = authority.Issuer;
        var ca = await File.ReadAllTextAsync(authority.CaFile, ct);
        var (clientId, secret) = authority.AddSecretClient("nobody");
        await authority.DisposeAsync(); // nothing listens on the authority's port any more
        var caFile = Path.Combine(Data.FullName, "oidc-ca.pem");
        await File.WriteAllTextAsync(caFile, ca, ct);
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: new Uri("http://127.0.0.1:9/introspect"));
        var options = dovecot.Options();
        (options.Password, options.Authentication, options.UseLease) = (null, "OAuth2", false);
        options.OAuth2 = new OAuth2Options { Authority = issuer, ClientId = clientId, ClientSecret = secret, CaCertificateFile = caFile, Scopes = ["imap"] };
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, health, worker) = run;

        await worker.StartAsync(ct);
        await WaitUntil(() => health.Mailboxes.ContainsKey(options.Name), TimeSpan.FromSeconds(60), "the mailbox reported");
        await worker.StopAsync(ct);

        Assert.True(worker.ExecuteTask is { IsFaulted: false }, worker.ExecuteTask?.Exception?.ToString());
        Assert.Equal(HealthStatus.Degraded, health.Mailboxes[options.Name].Status);
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Critical);
    }

    private static ImapMailboxOptions MailboxOptions(Dovecot dovecot, LocalOidcAuthority authority, string clientId, Action<OAuth2Options> credential)
    {
        var options = dovecot.Options("m365");
        options.Password = null;
        options.Authentication = "OAuth2";
        options.PollInterval = TimeSpan.FromMilliseconds(500);
        options.CommandTimeout = TimeSpan.FromSeconds(15);
        options.LeaseDuration = TimeSpan.FromSeconds(40);
        options.OAuth2 = new OAuth2Options { Authority = authority.Issuer, ClientId = clientId, CaCertificateFile = authority.CaFile, Scopes = ["imap"] };
        credential(options.OAuth2);
        return options;
    }

    /// <summary>
    /// A worker on one mailbox routing with the default model into a ledger in the test's data directory, every line to
    /// <see cref="Logs"/> and the test output; what the tests read of it: lines, ledger, health.
    /// </summary>
    internal sealed class WorkerRun : IDisposable
    {
        public WorkerRun(ImapMailboxOptions options, DefaultModelFixture model, DirectoryInfo data, ITestOutputHelper output)
        {
            Store = new SqliteStateStore(Path.Combine(data.FullName, "state.db"));
            var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs).AddProvider(new OutputLoggerProvider(output)));
            var policy = new RoutingPolicy([], model.Bundle);
            var settings = new SmartMailOptions { DataDirectory = data.FullName, ModelPath = model.ModelPath };
            Worker = new ImapWorker(options, mailbox => new MailProcessor(Store, () => policy, new MailExtractor(), mailbox, settings, TimeProvider.System,
                factory.CreateLogger<MailProcessor>(), new WorkerMetrics(), health: Health), Store, TimeProvider.System, new NoLifetime(),
                factory.CreateLogger<ImapWorker>(), Health);
        }

        public CapturingLoggerProvider Logs { get; } = new();

        public SqliteStateStore Store { get; }

        public WorkerHealth Health { get; } = new();

        public ImapWorker Worker { get; }

        public void Deconstruct(out CapturingLoggerProvider logs, out SqliteStateStore store, out WorkerHealth health, out ImapWorker worker) =>
            (logs, store, health, worker) = (Logs, Store, Health, Worker);

        public void Dispose()
        {
            Worker.Dispose();
            Store.Dispose();
            Logs.Dispose();
        }
    }

    internal static IEnumerable<byte[]> Mail(int from, int count) =>
        Enumerable.Range(from, count).Select(i => Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Car(i)));

    /// <summary>
    /// Appends mails and returns their fingerprints as the server stores them, computed here (Dovecot stores what MimeKit
    /// writes): reading them back from the server would race with a running worker that moves them at once.
    /// </summary>
    internal static async Task<List<string>> AppendAsync(Dovecot dovecot, IEnumerable<byte[]> mails)
    {
        var raw = mails.ToList();
        await dovecot.AppendAsync(raw);
        return [.. raw.Select(r =>
        {
            using var message = MimeKit.MimeMessage.Load(new MemoryStream(r));
            using var buffer = new MemoryStream();
            var format = MimeKit.FormatOptions.Default.Clone();
            format.NewLineFormat = MimeKit.NewLineFormat.Dos;
            format.EnsureNewLine = true;
            message.WriteTo(format, buffer);
            return MailExtractor.Fingerprint(buffer.ToArray());
        })];
    }

    internal static int Acknowledged(IStateStore store) => store.CountByState().GetValueOrDefault(MailState.Acknowledged);

    internal static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, $"{what}: not within {timeout}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every appended mail is in exactly one folder other than INBOX, exactly once; nothing else is anywhere.</summary>
    internal static async Task AssertEachMailInOneFolderOnceAsync(Dovecot dovecot, IReadOnlyCollection<string> appended)
    {
        var inventory = await dovecot.InventoryAsync();
        var routed = inventory.Where(m => m.Folder != "INBOX").ToLookup(m => m.Fingerprint, m => m.Folder);
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.All(appended, f => Assert.Single(routed[f]));
        Assert.Equal(appended.Count, inventory.Count);
    }

    /// <summary>Writes every line to the test's output (for a failing run).</summary>
    internal sealed class OutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, output);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ITestOutputHelper output) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                try
                {
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}");
                }
                catch (InvalidOperationException)
                {
                    // the test has finished
                }
            }
        }
    }
}
