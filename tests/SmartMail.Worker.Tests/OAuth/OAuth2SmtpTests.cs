using Microsoft.Extensions.Logging;
using MimeKit;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// The SMTP sink signing in with OAuth2 client credentials (MSAL, the real local OpenID Connect authority over HTTPS) to a
/// real loopback SMTP relay that advertises AUTH XOAUTH2 and checks each token by introspection, as Exchange Online's relay does.
/// </summary>
public sealed class OAuth2SmtpTests
{
    private const string Sender = "smartmail@kommune.example";

    [Fact]
    public async Task SmtpSink_SignsInByXOAuth2_WithACachedAppToken_AndDelivers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var relay = OAuth2SmtpRelay.Start(authority);
        // As long-lived as Entra ID's (MSAL renews a token 5 minutes before it expires, so a 30 s one is never reused).
        authority.TokenLifetime = TimeSpan.FromMinutes(60);
        var (clientId, secret) = authority.AddSecretClient(Sender);
        var sink = Sink(Options(relay, authority, clientId, o => o.ClientSecret = secret));

        await sink.DeliverAsync(Delivery("sm-oauth-1"), ct);
        await sink.DeliverAsync(Delivery("sm-oauth-2"), ct);

        Assert.Equal(["sm-oauth-1", "sm-oauth-2"], relay.Received.Select(m => MimeMessage.Load(new MemoryStream(m.Raw)).Headers["X-SmartMail-Decision-Id"]));
        Assert.Equal(2, relay.AcceptedSignIns);
        Assert.Equal(1, authority.TokenRequests); // one token, cached for the second delivery
        Assert.All(relay.SaslMessages, m => Assert.StartsWith("user=" + Sender + "\u0001auth=Bearer ", m, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SmtpSink_TokenTheRelayRefuses_IsUnavailable_WithOneCriticalLineNamingTheFix_AndNoStorm()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var relay = OAuth2SmtpRelay.Start(authority);
        // The authority issues tokens, but for another mailbox: the relay refuses them for the sender.
        authority.TokenLifetime = TimeSpan.FromMinutes(60);
        var (clientId, secret) = authority.AddSecretClient("someone-else@kommune.example");
        using var logs = new CapturingLoggerProvider();
        var sink = Sink(Options(relay, authority, clientId, o => o.ClientSecret = secret), logs.CreateLogger("smtp"));

        var failures = new List<DeliveryUnavailableException>();
        for (var i = 0; i < 5; i++)
        {
            failures.Add(await Assert.ThrowsAsync<DeliveryUnavailableException>(() => sink.DeliverAsync(Delivery($"sm-refused-{i}"), ct)));
        }

        Assert.Empty(relay.Received);
        // The local authority is not Microsoft's: the fix named is the relay's and Username, not Exchange PowerShell (RefusalHints_*).
        Assert.Contains("Username", failures[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("New-ServicePrincipal", failures[0].Message, StringComparison.Ordinal);
        Assert.All(failures, f => Assert.IsType<SignInRefusedException>(f.InnerException));
        Assert.Equal(2, authority.TokenRequests); // the cached token, one fresh one, then nothing while held off
        Assert.Equal(2, relay.RefusedSignIns);
        Assert.Equal(1, relay.Connections);
        var critical = Assert.Single(logs.Lines, l => l.Level == LogLevel.Critical);
        Assert.Contains("SmartMail:Smtp:OAuth2", critical.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, string.Join("\n", logs.Lines.Select(l => l.Text)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmtpSink_RevokedClient_IsUnavailable_AsksTheAuthorityOnce_ThenTriesAgainAfterTheHoldOff()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var relay = OAuth2SmtpRelay.Start(authority);
        var (clientId, secret) = authority.AddSecretClient(Sender);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var sink = Sink(Options(relay, authority, clientId, o => o.ClientSecret = secret), time: clock);
        authority.Revoke(clientId);

        var first = await Assert.ThrowsAsync<DeliveryUnavailableException>(() => sink.DeliverAsync(Delivery("sm-revoked-1"), ct));
        await Assert.ThrowsAsync<DeliveryUnavailableException>(() => sink.DeliverAsync(Delivery("sm-revoked-2"), ct));
        var heldOff = authority.TokenRequests;
        clock.Now += SmtpForwardSink.SignInHoldOff + TimeSpan.FromSeconds(1);
        await Assert.ThrowsAsync<DeliveryUnavailableException>(() => sink.DeliverAsync(Delivery("sm-revoked-3"), ct));

        Assert.Contains("invalid_client", first.Message, StringComparison.Ordinal);
        Assert.Equal(1, heldOff);
        Assert.Equal(2, authority.TokenRequests); // one more try once the hold-off is over
        Assert.Empty(relay.Received);
    }

    [Fact]
    public void Validation_OAuth2Relay_NamesEachMissingSetting()
    {
        var smtp = new SmtpForwardOptions { Host = "smtp.office365.com", From = Sender, Authentication = "OAuth2" };

        var failures = smtp.Validate("SmartMail:Smtp").ToList();

        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:Username:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:OAuth2:ClientId:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:OAuth2:TenantId:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:OAuth2:CertificateFile:", StringComparison.Ordinal));
        Assert.Contains("SmartMail:Smtp:Authentication:", new SmtpForwardOptions { Host = "h", From = Sender, Authentication = "Basic" }
            .Validate("SmartMail:Smtp").Single(), StringComparison.Ordinal);
        Assert.Equal([OAuth2Options.ExchangeOnlineScope], smtp.OAuth2.EffectiveScopes());
    }

    private static SmtpForwardOptions Options(OAuth2SmtpRelay relay, LocalOidcAuthority authority, string clientId, Action<OAuth2Options> credential) =>
        Options(relay, authority.Issuer, authority.CaFile, clientId, credential);

    /// <summary>The relay's settings for sending as <see cref="Sender"/> with OAuth2 at <paramref name="issuer"/>.</summary>
    internal static SmtpForwardOptions Options(OAuth2SmtpRelay relay, Uri issuer, string caFile, string clientId, Action<OAuth2Options> credential)
    {
        var options = new SmtpForwardOptions
        {
            Host = "127.0.0.1",
            Port = relay.Port,
            Security = SmtpForwardSecurity.None,
            AllowPlaintext = true,
            From = "SmartMail <" + Sender + ">",
            Username = Sender,
            Timeout = TimeSpan.FromSeconds(10),
            Authentication = "OAuth2",
            OAuth2 = new OAuth2Options { Authority = issuer, ClientId = clientId, CaCertificateFile = caFile, Scopes = ["smtp"] },
        };
        credential(options.OAuth2);
        return options;
    }

    private static SmtpForwardSink Sink(SmtpForwardOptions options, ILogger? logger = null, TimeProvider? time = null) =>
        new(options, _ => "byg@kommune.example", time, logger);

    internal static Delivery Delivery(string decisionId) => new(new MailKey("inbox", "INBOX", 1, decisionId), decisionId, "byg",
        System.Text.Encoding.UTF8.GetBytes("From: a@example.org\r\nTo: post@kommune.example\r\nSubject: Byggetilladelse\r\nMessage-ID: <" + decisionId + "@example.org>\r\n\r\nHej\r\n"),
        "{\"label\":\"byg\",\"confidence\":0.9}");

    /// <summary>A clock a test moves by hand.</summary>
    internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
