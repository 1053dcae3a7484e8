using System.Net.Http;
using System.Text.Json;
using SmartMail.Worker.Auth;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// <see cref="OAuth2TokenSource"/> against a third-party OpenID provider (npm's oidc-provider over HTTPS with a per-run CA):
/// secret (client_secret_post) and certificate (private_key_jwt, RS256) sign-in, and each refusal naming its real cause.
/// </summary>
public sealed class ThirdPartySignInTests
{
    private const string User = "post@kommune.example";
    private const string Section = "SmartMail:Mailboxes:0:OAuth2";

    [Fact]
    public async Task GetToken_SecretClient_TheProviderIssuesATokenForTheMailUser()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = await ThirdPartyOidcProvider.StartAsync(TimeSpan.FromMinutes(10), User);
        using var tokens = SecretClientTokens(provider);

        var (token, _) = await tokens.GetTokenAsync(forceRefresh: false, ct);

        await AssertActiveForUserAsync(provider, token, ct);
    }

    [Fact]
    public async Task GetToken_CertificateClient_TheProviderAcceptsTheSignedAssertion()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = await ThirdPartyOidcProvider.StartAsync(TimeSpan.FromMinutes(10), User);
        var client = provider.ClientsFor[User];
        using var tokens = new OAuth2TokenSource(Options(provider, client.CertificateClientId, o =>
        {
            o.CertificateFile = client.PfxFile;
            o.CertificatePasswordFile = client.PasswordFile;
        }), Section);

        var (token, _) = await tokens.GetTokenAsync(forceRefresh: false, ct);

        await AssertActiveForUserAsync(provider, token, ct);
    }

    [Fact]
    public async Task GetToken_ProviderCaNotTrusted_IsRefused_NamingTheChainErrorAndCaCertificateFile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = await ThirdPartyOidcProvider.StartAsync(TimeSpan.FromMinutes(10), User);
        using var tokens = SecretClientTokens(provider, o => o.CaCertificateFile = null);

        var refused = await Assert.ThrowsAsync<SignInRefusedException>(() => tokens.GetTokenAsync(forceRefresh: false, ct));

        Assert.Contains("SmartMail:Mailboxes:0:OAuth2:CaCertificateFile", refused.Message, StringComparison.Ordinal);
        Assert.Contains("PartialChain", refused.Message, StringComparison.Ordinal);
        Assert.Contains(provider.Issuer.Authority, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public async Task GetToken_WrongAuthorityPath_DiscoveryAnswers404_IsRefused_NamingTheAuthority()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = await ThirdPartyOidcProvider.StartAsync(TimeSpan.FromMinutes(10), User);
        using var tokens = SecretClientTokens(provider, o => o.Authority = new Uri(provider.Issuer, "/realms/smartmail"));

        var refused = await Assert.ThrowsAsync<SignInRefusedException>(() => tokens.GetTokenAsync(forceRefresh: false, ct));

        Assert.StartsWith("SmartMail:Mailboxes:0:OAuth2:Authority", refused.Message, StringComparison.Ordinal);
        Assert.Contains("/.well-known/openid-configuration", refused.Message, StringComparison.Ordinal);
        Assert.Contains("404", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetToken_ProviderDown_IsTransient_AndNamesTheAuthority()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = await ThirdPartyOidcProvider.StartAsync(TimeSpan.FromMinutes(10), User);
        using var tokens = SecretClientTokens(provider);
        await provider.StopAsync();

        var down = await Assert.ThrowsAnyAsync<HttpRequestException>(() => tokens.GetTokenAsync(forceRefresh: false, ct));

        Assert.Contains("SmartMail:Mailboxes:0:OAuth2:Authority", down.Message, StringComparison.Ordinal);
        Assert.Contains(provider.Issuer.Authority, down.Message, StringComparison.Ordinal);
        Assert.True(Imap.MailboxCycle.IsTransient(down));
    }

    [Fact]
    public async Task GetToken_TwoConnectionsAtOnce_MakeOneTokenRequest()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        authority.TokenLifetime = TimeSpan.FromMinutes(60);
        var (clientId, secret) = authority.AddSecretClient(User);
        using var tokens = new OAuth2TokenSource(new OAuth2Options
        {
            Authority = authority.Issuer, ClientId = clientId, ClientSecret = secret, CaCertificateFile = authority.CaFile, Scopes = ["imap"],
        }, Section);

        var both = await Task.WhenAll(tokens.GetTokenAsync(false, ct), tokens.GetTokenAsync(false, ct));

        Assert.Equal(both[0].AccessToken, both[1].AccessToken);
        Assert.Equal(1, authority.TokenRequests);
    }

    // The mail user's client_secret_post client, its settings changed by tweak (e.g. a wrong authority) before use.
    private static OAuth2TokenSource SecretClientTokens(ThirdPartyOidcProvider provider, Action<OAuth2Options>? tweak = null)
    {
        var client = provider.ClientsFor[User];
        return new OAuth2TokenSource(Options(provider, client.SecretClientId, o =>
        {
            o.ClientSecretFile = client.SecretFile;
            tweak?.Invoke(o);
        }), Section);
    }

    internal static OAuth2Options Options(ThirdPartyOidcProvider provider, string clientId, Action<OAuth2Options> credential)
    {
        var options = new OAuth2Options { Authority = provider.Issuer, ClientId = clientId, CaCertificateFile = provider.CaFile, Scopes = ["imap"] };
        credential(options);
        return options;
    }

    private static async Task AssertActiveForUserAsync(ThirdPartyOidcProvider provider, string token, CancellationToken ct)
    {
        using var http = provider.NewTrustingClient();
        var (status, body) = await provider.IntrospectAsync(http, token, ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        using var answer = JsonDocument.Parse(body);
        Assert.True(answer.RootElement.GetProperty("active").GetBoolean(), body);
        Assert.Equal(User, answer.RootElement.GetProperty("username").GetString());
    }
}
