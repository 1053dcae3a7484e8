using System.Text.Json;
using SmartMail.Worker.Auth;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>MSAL's client-credentials flow against a real local OpenID Connect authority over HTTPS.</summary>
public sealed class OAuth2TokenSourceTests
{
    private const string Setting = "SmartMail:Mailboxes:0:OAuth2";

    [Fact]
    public async Task ClientSecret_FromFile_GetsATokenTheAuthorityVouchesFor()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        var (clientId, secret) = authority.AddSecretClient("fallespost");
        var secretFile = Path.Combine(authority.Directory, "secret");
        await File.WriteAllTextAsync(secretFile, secret + "\n", TestContext.Current.CancellationToken);
        using var source = new OAuth2TokenSource(Options(authority, clientId, o => o.ClientSecretFile = secretFile), Setting);

        var (token, expires) = await source.GetTokenAsync(forceRefresh: false, TestContext.Current.CancellationToken);

        Assert.Equal("fallespost", await IntrospectAsync(authority, token));
        Assert.True(expires > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Certificate_FromPfxWithPassword_SignsAClientAssertion()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        var (clientId, pfx) = authority.AddCertificateClient("fallespost", password: "pfx-pass");
        var passwordFile = Path.Combine(authority.Directory, "pfx-password");
        await File.WriteAllTextAsync(passwordFile, "pfx-pass", TestContext.Current.CancellationToken);
        using var source = new OAuth2TokenSource(
            Options(authority, clientId, o => (o.CertificateFile, o.CertificatePasswordFile) = (pfx, passwordFile)), Setting);

        var (token, _) = await source.GetTokenAsync(forceRefresh: false, TestContext.Current.CancellationToken);

        Assert.Equal("fallespost", await IntrospectAsync(authority, token));
    }

    [Fact]
    public async Task ShortLivedToken_IsRenewed_NotServedStale()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        authority.TokenLifetime = TimeSpan.FromSeconds(2);
        var (clientId, secret) = authority.AddSecretClient("fallespost");
        using var source = new OAuth2TokenSource(Options(authority, clientId, o => o.ClientSecret = secret), Setting);

        var (first, _) = await source.GetTokenAsync(false, TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        var (second, _) = await source.GetTokenAsync(false, TestContext.Current.CancellationToken);

        Assert.NotEqual(first, second);
        Assert.Null(await IntrospectAsync(authority, first));
        Assert.Equal("fallespost", await IntrospectAsync(authority, second));
    }

    [Fact]
    public async Task WrongSecret_IsRefusedForGood_NamingTheSettingAndNotTheSecret()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        var (clientId, _) = authority.AddSecretClient("fallespost");
        const string wrong = "not-the-secret-9f8e7d";
        using var source = new OAuth2TokenSource(Options(authority, clientId, o => o.ClientSecret = wrong), Setting);

        var refused = await Assert.ThrowsAsync<SignInRefusedException>(() => source.GetTokenAsync(false, TestContext.Current.CancellationToken));

        Assert.StartsWith(Setting + ":", refused.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_client", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, authority.RefusedTokenRequests);
    }

    [Fact]
    public async Task RevokedClient_TokenGoesInactive_AndANewOneIsRefused()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        var (clientId, secret) = authority.AddSecretClient("fallespost");
        using var source = new OAuth2TokenSource(Options(authority, clientId, o => o.ClientSecret = secret), Setting);
        var (token, _) = await source.GetTokenAsync(false, TestContext.Current.CancellationToken);

        authority.Revoke(clientId);

        Assert.Null(await IntrospectAsync(authority, token));
        await Assert.ThrowsAsync<SignInRefusedException>(() => source.GetTokenAsync(true, TestContext.Current.CancellationToken));
        Assert.Equal(1, authority.RefusedTokenRequests);
    }

    [Fact]
    public async Task ExpiredCertificate_IsRefusedBeforeAnyRequest_WithTheDate()
    {
        await using var authority = await LocalOidcAuthority.StartAsync();
        var (clientId, pfx) = authority.AddCertificateClient("fallespost", notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var refused = Assert.Throws<SignInRefusedException>(() => new OAuth2TokenSource(Options(authority, clientId, o => o.CertificateFile = pfx), Setting));

        Assert.Contains("expired", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, authority.TokenRequests);
    }

    [Fact]
    public void NoCredential_IsAConfigurationError_NamingTheSettings()
    {
        var refused = Assert.Throws<SignInRefusedException>(() =>
            new OAuth2TokenSource(new OAuth2Options { TenantId = "contoso.onmicrosoft.com", ClientId = Guid.NewGuid().ToString() }, Setting));

        Assert.Contains("CertificateFile", refused.Message, StringComparison.Ordinal);
        Assert.Contains("ClientSecretFile", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EntraIdAuthority_IsBuiltFromTheTenant_WithExchangeOnlinesScope()
    {
        var options = new OAuth2Options { TenantId = "norddjurs.onmicrosoft.com" };

        Assert.Equal(new Uri("https://login.microsoftonline.com/norddjurs.onmicrosoft.com"), options.EffectiveAuthority());
        Assert.True(OAuth2Options.IsEntraId(options.EffectiveAuthority()!));
        Assert.Equal(["https://outlook.office365.com/.default"], options.EffectiveScopes());
        Assert.False(OAuth2Options.IsEntraId(new Uri("https://127.0.0.1:8443/realms/smartmail")));
    }

    private static OAuth2Options Options(LocalOidcAuthority authority, string clientId, Action<OAuth2Options> credential)
    {
        var options = new OAuth2Options
        {
            Authority = authority.Issuer,
            ClientId = clientId,
            CaCertificateFile = authority.CaFile,
            Scopes = ["imap"],
        };
        credential(options);
        return options;
    }

    private static async Task<string?> IntrospectAsync(LocalOidcAuthority authority, string token)
    {
        using var http = authority.NewTrustingClient();
        using var response = await http.PostAsync(authority.IntrospectionEndpoint, new FormUrlEncodedContent([new("token", token)]));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean() ? json.RootElement.GetProperty("username").GetString() : null;
    }
}
