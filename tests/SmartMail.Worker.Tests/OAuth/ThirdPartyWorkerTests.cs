using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Health;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;
using static SmartMail.Worker.Tests.OAuth.OAuth2WorkerTests;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// Running <see cref="ImapWorker"/>s and the SMTP sink signing in at a third-party OpenID provider (npm's oidc-provider,
/// HTTPS, per-run CA) to a real Dovecot on the Exchange profile whose oauth2 passdb checks every token through
/// <see cref="IntrospectionShim"/>, and a loopback SMTP relay that checks them the same way: the provider restarted, a token
/// revoked, the server's token check failing for a while. Every mail is routed exactly once and no mailbox stops for a
/// transient failure; every refusal is one line naming its cause.
/// </summary>
public sealed class ThirdPartyWorkerTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const string Sender = "smartmail@kommune.example";

    /// <summary>How long the IMAP server's token check fails in the must-show test (the 60 s).</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_CertificateImap_SecretSmtp_ProviderRestarted_TokenRevoked_TokenCheckDown60s_EveryMailOnce_NoMailboxStopped()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10), Sender);
        var (shim, dovecot, provider) = (rig.Shim, rig.Dovecot, rig.Provider);
        await using var relay = OAuth2SmtpRelay.Start(shim.Endpoint);
        using var http = provider.NewTrustingClient();
        var imapClient = provider.ClientsFor[dovecot.User];
        var options = Mailbox(dovecot, provider, imapClient.CertificateClientId, o =>
        {
            o.CertificateFile = imapClient.PfxFile;
            o.CertificatePasswordFile = imapClient.PasswordFile;
        });
        options.LeaseDuration = TimeSpan.FromMinutes(3); // longer than the outage: the lease is kept, not lost and taken again
        var smtpClient = provider.ClientsFor[Sender];
        var sink = new SmtpForwardSink(Smtp(relay, provider, smtpClient.SecretClientId, o => o.ClientSecretFile = smtpClient.SecretFile), _ => "byg@kommune.example");
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, health, worker) = run;
        var appended = await AppendAsync(dovecot, Mail(0, 10));

        await worker.StartAsync(ct);
        await WaitUntil(() => Acknowledged(store) == 10, TimeSpan.FromSeconds(60), "the first 10 mails routed (certificate sign-in)");
        await sink.DeliverAsync(OAuth2SmtpTests.Delivery("sm-op-1"), ct);

        // A token revoked at the provider while the worker holds it: the server refuses it, a fresh one signs in.
        await provider.RevokeAsync(http, shim.Tokens[^1], ct);
        await DovecotAdmin.KickAsync(dovecot);
        appended.AddRange(await AppendAsync(dovecot, Mail(10, 10)));
        await WaitUntil(() => Acknowledged(store) == 20, TimeSpan.FromSeconds(60), "10 more mails routed after the revocation");

        // The provider restarted: down for a while (mail arrives meanwhile), and every token it issued is forgotten.
        await provider.StopAsync();
        await DovecotAdmin.KickAsync(dovecot);
        appended.AddRange(await AppendAsync(dovecot, Mail(20, 10)));
        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        await provider.StartAgainAsync();
        await WaitUntil(() => Acknowledged(store) == 30, TimeSpan.FromSeconds(90), "10 more mails routed after the provider's restart");
        await sink.DeliverAsync(OAuth2SmtpTests.Delivery("sm-op-2"), ct); // its cached token died with the provider: a fresh one

        // The IMAP server cannot check tokens for a while: NO [UNAVAILABLE], transient.
        shim.Failing = true;
        await DovecotAdmin.KickAsync(dovecot);
        appended.AddRange(await AppendAsync(dovecot, Mail(30, 10)));
        await Task.Delay(Outage, ct);
        var failedChecks = shim.Failed;
        shim.Failing = false;
        await WaitUntil(() => Acknowledged(store) == 40, TimeSpan.FromSeconds(150), "the last 10 mails routed after the token check is back");
        await worker.StopAsync(ct);

        Assert.True(worker.ExecuteTask is { IsFaulted: false }, worker.ExecuteTask?.Exception?.ToString());
        await AssertEachMailInOneFolderOnceAsync(dovecot, appended);
        Assert.Equal(["sm-op-1", "sm-op-2"], relay.Received.Select(m => MimeMessage.Load(new MemoryStream(m.Raw)).Headers["X-SmartMail-Decision-Id"]));
        Assert.True(failedChecks >= 2, $"the token check failed {failedChecks} times during the outage");
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Critical);
        Assert.DoesNotContain(logs.Lines, l => l.Event.Id == 2112); // the lease was never lost
        Assert.NotEqual(HealthStatus.Unhealthy, health.Mailboxes[options.Name].Status);
        AssertNoStackTraceAtWarning(logs);
        var all = string.Join("\n", logs.Lines.Select(l => l.Text));
        Assert.DoesNotContain(smtpClient.Secret, all, StringComparison.Ordinal);
        Assert.All(shim.Tokens.Distinct(), t => Assert.DoesNotContain(t, all, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_SecretImap_CertificateSmtp_SignIn_RoutesAndDelivers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10), Sender);
        var (shim, dovecot, provider) = (rig.Shim, rig.Dovecot, rig.Provider);
        await using var relay = OAuth2SmtpRelay.Start(shim.Endpoint);
        var imapClient = provider.ClientsFor[dovecot.User];
        var options = Mailbox(dovecot, provider, imapClient.SecretClientId, o => o.ClientSecretFile = imapClient.SecretFile);
        var smtpClient = provider.ClientsFor[Sender];
        var sink = new SmtpForwardSink(Smtp(relay, provider, smtpClient.CertificateClientId, o =>
        {
            o.CertificateFile = smtpClient.PfxFile;
            o.CertificatePasswordFile = smtpClient.PasswordFile;
        }), _ => "byg@kommune.example");
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, _, worker) = run;
        var appended = await AppendAsync(dovecot, Mail(0, 6));

        await worker.StartAsync(ct);
        await WaitUntil(() => Acknowledged(store) == 6, TimeSpan.FromSeconds(60), "6 mails routed (secret sign-in)");
        var imapTokens = shim.Tokens.Distinct().Count();
        await sink.DeliverAsync(OAuth2SmtpTests.Delivery("sm-op-cert"), ct);
        await worker.StopAsync(ct);

        await AssertEachMailInOneFolderOnceAsync(dovecot, appended);
        Assert.Single(relay.Received);
        Assert.Equal(1, relay.AcceptedSignIns);
        Assert.Equal(1, imapTokens); // the lease, work and IDLE connections signed in with one cached token
        Assert.Equal(2, shim.Tokens.Distinct().Count()); // and the relay's sign-in with the SMTP client's own
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Warning && l.Event.Id != 2107); // 2107: no CONDSTORE on the Exchange profile
    }

    [Fact]
    public async Task Worker_ServerTokenCheckUnavailable_IsTransient_TheMailboxWaitsAndRoutesAfterwards()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10));
        var (shim, dovecot) = (rig.Shim, rig.Dovecot);
        var options = SecretMailbox(rig);
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, _, worker) = run;
        var appended = await AppendAsync(dovecot, Mail(0, 4));
        shim.Failing = true;

        await worker.StartAsync(ct);
        await WaitUntil(() => shim.Failed >= 3, TimeSpan.FromSeconds(60), "three sign-ins the server could not check");
        shim.Failing = false;
        await WaitUntil(() => Acknowledged(store) == 4, TimeSpan.FromSeconds(60), "4 mails routed once the token check is back");
        await worker.StopAsync(ct);

        await AssertEachMailInOneFolderOnceAsync(dovecot, appended);
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Critical);
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("UNAVAILABLE", StringComparison.Ordinal));
        AssertNoStackTraceAtWarning(logs);
    }

    [Fact]
    public async Task Worker_ProviderStopsMidRun_OneLinePerAttemptNamingTheAuthority_NoStackTraces_ThenRoutes()
    {
        var ct = TestContext.Current.CancellationToken;
        // Shorter than MSAL's 5 minutes: a token is fetched for every connection, so every reconnect asks the provider.
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromSeconds(120));
        var (dovecot, provider) = (rig.Dovecot, rig.Provider);
        var options = SecretMailbox(rig);
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, _, worker) = run;
        var appended = await AppendAsync(dovecot, Mail(0, 2));

        await worker.StartAsync(ct);
        await WaitUntil(() => Acknowledged(store) == 2, TimeSpan.FromSeconds(60), "2 mails routed");
        await provider.StopAsync();
        await DovecotAdmin.KickAsync(dovecot);
        appended.AddRange(await AppendAsync(dovecot, Mail(2, 2)));
        await WaitUntil(() => logs.Lines.Count(l => l.Level == LogLevel.Warning && l.Text.Contains(provider.Issuer.Authority, StringComparison.Ordinal)) >= 3,
            TimeSpan.FromSeconds(60), "three attempts that name the provider");
        await provider.StartAgainAsync();
        await WaitUntil(() => Acknowledged(store) == 4, TimeSpan.FromSeconds(60), "2 more mails routed once the provider is back");
        await worker.StopAsync(ct);

        await AssertEachMailInOneFolderOnceAsync(dovecot, appended);
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Critical);
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("Authority", StringComparison.Ordinal));
        AssertNoStackTraceAtWarning(logs);
    }

    [Fact]
    public async Task Worker_ProviderCaNotTrusted_StopsTheMailbox_WithOneCriticalLineNamingCaCertificateFile_NoRetries()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10));
        var options = SecretMailbox(rig, o => o.CaCertificateFile = null);
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, _, health, worker) = run;

        await worker.StartAsync(ct);
        await WaitUntil(() => health.Mailboxes.TryGetValue(options.Name, out var h) && h.Status == HealthStatus.Unhealthy,
            TimeSpan.FromSeconds(60), "the mailbox stopped");
        await worker.StopAsync(ct);

        var critical = Assert.Single(logs.Lines, l => l.Level == LogLevel.Critical);
        Assert.Contains("OAuth2:CaCertificateFile", critical.Text, StringComparison.Ordinal);
        Assert.Contains("PartialChain", critical.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, l => l.Event.Id == 2103); // not retried as an outage
    }

    [Fact]
    public async Task Worker_WrongSecret_TheCriticalLineNamesTheMailboxOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, _) = authority.AddSecretClient(dovecot.User);
        var options = dovecot.Options("m365");
        (options.Password, options.Authentication, options.UseLease) = (null, "OAuth2", false);
        options.OAuth2 = new OAuth2Options { Authority = authority.Issuer, ClientId = clientId, ClientSecret = "not-the-secret", CaCertificateFile = authority.CaFile, Scopes = ["imap"] };
        using var run = new WorkerRun(options, Model, Data, output);
        var (logs, store, health, worker) = run;

        await worker.StartAsync(ct);
        await WaitUntil(() => health.Mailboxes.TryGetValue(options.Name, out var h) && h.Status == HealthStatus.Unhealthy,
            TimeSpan.FromSeconds(60), "the mailbox stopped");
        await worker.StopAsync(ct);

        var critical = Assert.Single(logs.Lines, l => l.Level == LogLevel.Critical);
        var message = critical.Text[..critical.Text.IndexOf(" || ", StringComparison.Ordinal)];
        Assert.Equal(1, Occurrences(message, "m365"));
        Assert.Contains("OAuth2:ClientSecret", message, StringComparison.Ordinal);
        Assert.Equal(2111, critical.Event.Id);
    }

    private static int Occurrences(string text, string word) => (text.Length - text.Replace(word, "", StringComparison.Ordinal).Length) / word.Length;

    // A sign-in failure is one line; a dropped connection (the kicks) still logs its exception, as before.
    private static void AssertNoStackTraceAtWarning(CapturingLoggerProvider logs) =>
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Warning && l.Text.Contains("\n   at ", StringComparison.Ordinal)
            && (l.Text.Contains("HttpRequestException", StringComparison.Ordinal) || l.Text.Contains("Msal", StringComparison.Ordinal)
                || l.Text.Contains("AuthenticationException", StringComparison.Ordinal)));

    private static ImapMailboxOptions Mailbox(Dovecot dovecot, ThirdPartyOidcProvider provider, string clientId, Action<OAuth2Options> credential)
    {
        var options = dovecot.Options("op");
        options.Password = null;
        options.Authentication = "OAuth2";
        options.PollInterval = TimeSpan.FromMilliseconds(500);
        options.CommandTimeout = TimeSpan.FromSeconds(15);
        options.LeaseDuration = TimeSpan.FromSeconds(40);
        options.OAuth2 = ThirdPartySignInTests.Options(provider, clientId, credential);
        return options;
    }

    // The mail user's client_secret_post client at the rig's provider, its settings changed by tweak before use.
    private static ImapMailboxOptions SecretMailbox(ThirdPartyRig rig, Action<OAuth2Options>? tweak = null)
    {
        var client = rig.Provider.ClientsFor[rig.Dovecot.User];
        return Mailbox(rig.Dovecot, rig.Provider, client.SecretClientId, o =>
        {
            o.ClientSecretFile = client.SecretFile;
            tweak?.Invoke(o);
        });
    }

    private static SmtpForwardOptions Smtp(OAuth2SmtpRelay relay, ThirdPartyOidcProvider provider, string clientId, Action<OAuth2Options> credential) =>
        OAuth2SmtpTests.Options(relay, provider.Issuer, provider.CaFile, clientId, credential);

}
