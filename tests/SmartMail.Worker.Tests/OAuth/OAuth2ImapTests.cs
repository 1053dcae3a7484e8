using MailKit;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// A mailbox that signs in with OAuth2 client credentials (MSAL, a real local OpenID Connect authority over HTTPS) to a real
/// Dovecot on the Exchange Online profile that checks each token by introspection: as SmartMail signs in to Exchange Online.
/// </summary>
public sealed class OAuth2ImapTests
{
    [Fact]
    public async Task Mailbox_SignsInWithAClientCertificate_ByXOAuth2_OnTheExchangeProfile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, pfx) = authority.AddCertificateClient(dovecot.User);
        var options = OAuth2Options(dovecot, authority, clientId, o => o.CertificateFile = pfx);
        using var store = new State.SqliteStateStore(Path.Combine(authority.Directory, "state.db"));
        using var mailbox = new ImapMailbox(options, store.InstanceId);

        await mailbox.ConnectAsync(ct);

        Assert.Equal(1, authority.TokenRequests);
        Assert.True(authority.Introspections >= 1);
        Assert.Contains("XOAUTH2", dovecot.Log(), StringComparison.OrdinalIgnoreCase);
        await mailbox.DisconnectAsync(ct);
    }

    [Fact]
    public async Task Mailbox_WhoseAppHasNoAccess_IsRefusedForGood_WithTheProvidersFix_AfterOneFreshToken()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        // The authority issues tokens, but for another mailbox user: the server refuses them for this one.
        var (clientId, secret) = authority.AddSecretClient("someone-else");
        var options = OAuth2Options(dovecot, authority, clientId, o => o.ClientSecret = secret);
        using var store = new State.SqliteStateStore(Path.Combine(authority.Directory, "state.db"));
        using var mailbox = new ImapMailbox(options, store.InstanceId);

        var refused = await Assert.ThrowsAsync<SignInRefusedException>(() => mailbox.ConnectAsync(ct));

        // The authority is not Microsoft's: the fix is at this provider and server, not in Exchange PowerShell.
        Assert.DoesNotContain("New-ServicePrincipal", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Username", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, authority.TokenRequests); // the cached token, then one fresh one: no storm
    }

    [Fact]
    public void Validation_OAuth2Mailbox_NamesEachMissingSetting_AndNeedsNoPassword()
    {
        var mailbox = new ImapMailboxOptions { Name = "post", Host = "outlook.office365.com", Username = "post@kommune.example", Authentication = "OAuth2" };
        var options = new Options.SmartMailOptions { Mailboxes = [mailbox] };

        var failures = new Options.SmartMailOptionsValidator().Validate(null, options).Failures ?? [];

        Assert.Contains(failures, f => f.StartsWith("SmartMail:Mailboxes:0:OAuth2:ClientId", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Mailboxes:0:OAuth2:TenantId", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Mailboxes:0:OAuth2:CertificateFile", StringComparison.Ordinal));
        Assert.DoesNotContain(failures, f => f.Contains(":Password", StringComparison.Ordinal));
    }

    private static ImapMailboxOptions OAuth2Options(Dovecot dovecot, LocalOidcAuthority authority, string clientId, Action<OAuth2Options> credential)
    {
        var options = dovecot.Options();
        options.Password = null;
        options.Authentication = "OAuth2";
        options.Folder = "INBOX";
        options.OAuth2 = new OAuth2Options { Authority = authority.Issuer, ClientId = clientId, CaCertificateFile = authority.CaFile, Scopes = ["imap"] };
        credential(options.OAuth2);
        return options;
    }
}
