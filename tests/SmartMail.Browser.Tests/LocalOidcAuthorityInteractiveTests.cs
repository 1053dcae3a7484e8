using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Browser.Tests;

/// <summary>
/// The local authority's interactive sign-in, spoken to over HTTPS as a web app's OIDC handler would (no browser): the
/// authorization-code flow with PKCE, the signed id_token and what it carries, and the refusals a real provider makes.
/// </summary>
public sealed class LocalOidcAuthorityInteractiveTests : IAsyncLifetime
{
    private static readonly Uri Callback = new("http://127.0.0.1:1/signin-oidc");
    private LocalOidcAuthority _authority = null!;
    private HttpClient _http = null!;
    private string _clientId = string.Empty;
    private string _secret = string.Empty;

    public async ValueTask InitializeAsync()
    {
        _authority = await LocalOidcAuthority.StartAsync();
        (_clientId, _secret) = _authority.AddWebClient(Callback);
        _authority.AddUser("anna@kommune.test", "Anna Andersen", roles: ["SmartMail.Caseworker"], groups: ["g-1"],
            claims: new Dictionary<string, string> { ["tid"] = "tenant-1" });
        _authority.AddUser("ida@kommune.test", "Ida Iversen", roles: ["SmartMail.Admin"]);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(_authority.CaFile));
        _http = new HttpClient(handler);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _authority.DisposeAsync();
    }

    [Fact]
    public async Task CodeFlow_WithPkce_IssuesAnRs256IdTokenWithTheUsersClaims_AndTheCodeWorksOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        _authority.AutoLogin = "anna@kommune.test";
        var (verifier, challenge) = Pkce();

        using var authorize = await _http.GetAsync(AuthorizeUrl(challenge, state: "s-1", nonce: "n-1"), ct);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        var location = authorize.Headers.Location!;
        Assert.StartsWith(Callback.ToString(), location.ToString(), StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.Equal("s-1", query["state"].ToString());

        using var token = await RedeemAsync(query["code"].ToString(), verifier, ct);
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        using var body = JsonDocument.Parse(await token.Content.ReadAsStringAsync(ct));
        var idToken = body.RootElement.GetProperty("id_token").GetString()!;
        var claims = await VerifiedClaimsAsync(idToken, ct);
        Assert.Equal(_authority.Issuer.ToString(), claims.GetProperty("iss").GetString());
        Assert.Equal(_clientId, claims.GetProperty("aud").GetString());
        Assert.Equal("n-1", claims.GetProperty("nonce").GetString());
        Assert.Equal("Anna Andersen", claims.GetProperty("name").GetString());
        Assert.Equal("anna@kommune.test", claims.GetProperty("preferred_username").GetString());
        Assert.Equal(["SmartMail.Caseworker"], claims.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["g-1"], claims.GetProperty("groups").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("tenant-1", claims.GetProperty("tid").GetString());
        Assert.True(claims.GetProperty("exp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        using var userInfo = new HttpRequestMessage(HttpMethod.Get, _authority.UserInfoEndpoint);
        userInfo.Headers.Authorization = new("Bearer", body.RootElement.GetProperty("access_token").GetString());
        using var info = await _http.SendAsync(userInfo, ct);
        Assert.Contains("\"preferred_username\":\"anna@kommune.test\"", await info.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        using var again = await RedeemAsync(query["code"].ToString(), verifier, ct);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("invalid_grant", await again.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(1, _authority.SignIns);
        Assert.Equal(1, _authority.RefusedCodes);
    }

    [Fact]
    public async Task CodeFlow_WrongVerifierOrSecret_Refused()
    {
        var ct = TestContext.Current.CancellationToken;
        _authority.AutoLogin = "ida@kommune.test";
        var (_, challenge) = Pkce();
        using var first = await _http.GetAsync(AuthorizeUrl(challenge), ct);
        using var second = await _http.GetAsync(AuthorizeUrl(challenge), ct);

        using var wrongVerifier = await RedeemAsync(CodeOf(first), Pkce().Verifier, ct);
        using var wrongSecret = await RedeemAsync(CodeOf(second), "irrelevant", ct, secret: "not-the-secret");

        Assert.Equal(HttpStatusCode.BadRequest, wrongVerifier.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);
        Assert.Equal(0, _authority.SignIns);
    }

    [Fact]
    public async Task Authorize_UnregisteredRedirect_IsShownNotFollowed_MissingPkce_RedirectsWithError()
    {
        var ct = TestContext.Current.CancellationToken;
        _authority.AutoLogin = "anna@kommune.test";

        using var elsewhere = await _http.GetAsync(AuthorizeUrl(Pkce().Challenge).Replace(Uri.EscapeDataString(Callback.ToString()),
            Uri.EscapeDataString("http://127.0.0.1:2/evil"), StringComparison.Ordinal), ct);
        using var noPkce = await _http.GetAsync(AuthorizeUrl(challenge: null), ct);

        Assert.Equal(HttpStatusCode.BadRequest, elsewhere.StatusCode);
        Assert.Null(elsewhere.Headers.Location);
        Assert.Equal(HttpStatusCode.Redirect, noPkce.StatusCode);
        Assert.Equal("invalid_request", QueryHelpers.ParseQuery(noPkce.Headers.Location!.Query)["error"].ToString());
    }

    [Fact]
    public async Task Authorize_WithoutAutoLogin_ShowsEveryUser_AndFormPostAnswersWithAnAutoSubmittingForm()
    {
        var ct = TestContext.Current.CancellationToken;

        var choose = await _http.GetStringAsync(AuthorizeUrl(Pkce().Challenge) + "&response_mode=form_post", ct);
        using var chosen = await _http.PostAsync(_authority.AuthorizationEndpoint, new FormUrlEncodedContent(
            QueryHelpers.ParseQuery(new Uri(AuthorizeUrl(Pkce().Challenge) + "&response_mode=form_post").Query)
                .Select(kv => KeyValuePair.Create(kv.Key, kv.Value.ToString()))
                .Append(KeyValuePair.Create("login", "ida@kommune.test"))), ct);
        var form = await chosen.Content.ReadAsStringAsync(ct);

        Assert.Contains("data-testid=\"oidc-user-anna@kommune.test\"", choose, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"oidc-user-ida@kommune.test\"", choose, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, chosen.StatusCode);
        Assert.Contains($"action=\"{Callback}\"", form, StringComparison.Ordinal);
        Assert.Contains("name=\"code\"", form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chromium_ChoosesAUserOnThePage_AndIsSentToTheCallbackWithACodeThatRedeems()
    {
        Assert.SkipWhen(Chromium.WhyNot is not null, Chromium.WhyNot ?? string.Empty);
        var ct = TestContext.Current.CancellationToken;
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true });
        var page = await context.NewPageAsync();
        var callback = new TaskCompletionSource<string>();
        await page.RouteAsync(Callback + "**", async route =>
        {
            callback.TrySetResult(route.Request.Url);
            await route.FulfillAsync(new() { Body = "signed in", ContentType = "text/plain" });
        });
        var (verifier, challenge) = Pkce();

        await page.GotoAsync(AuthorizeUrl(challenge, state: "browser"));
        await page.GetByTestId("oidc-user-ida@kommune.test").ClickAsync();
        var landed = new Uri(await callback.Task.WaitAsync(TimeSpan.FromSeconds(30), ct));

        var query = QueryHelpers.ParseQuery(landed.Query);
        Assert.Equal("browser", query["state"].ToString());
        using var token = await RedeemAsync(query["code"].ToString(), verifier, ct);
        using var body = JsonDocument.Parse(await token.Content.ReadAsStringAsync(ct));
        var claims = await VerifiedClaimsAsync(body.RootElement.GetProperty("id_token").GetString()!, ct);
        Assert.Equal(["SmartMail.Admin"], claims.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Discovery_NamesTheInteractiveEndpoints()
    {
        var ct = TestContext.Current.CancellationToken;

        using var discovery = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_authority.Issuer + "/.well-known/openid-configuration"), ct));

        var root = discovery.RootElement;
        Assert.Equal(_authority.AuthorizationEndpoint.ToString(), root.GetProperty("authorization_endpoint").GetString());
        Assert.Equal(_authority.JwksUri.ToString(), root.GetProperty("jwks_uri").GetString());
        Assert.Equal(_authority.EndSessionEndpoint.ToString(), root.GetProperty("end_session_endpoint").GetString());
        Assert.Contains("authorization_code", root.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("S256", root.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
    }

    private string AuthorizeUrl(string? challenge, string state = "s", string nonce = "n")
    {
        var url = $"{_authority.AuthorizationEndpoint}?client_id={_clientId}&redirect_uri={Uri.EscapeDataString(Callback.ToString())}"
            + $"&response_type=code&scope=openid%20profile&state={state}&nonce={nonce}";
        return challenge is null ? url : url + $"&code_challenge={challenge}&code_challenge_method=S256";
    }

    private static string CodeOf(HttpResponseMessage authorize) => QueryHelpers.ParseQuery(authorize.Headers.Location!.Query)["code"].ToString();

    private Task<HttpResponseMessage> RedeemAsync(string code, string verifier, CancellationToken ct, string? secret = null) =>
        _http.PostAsync(_authority.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = Callback.ToString(),
            ["client_id"] = _clientId,
            ["client_secret"] = secret ?? _secret,
            ["code_verifier"] = verifier,
        }), ct);

    private static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    private async Task<JsonElement> VerifiedClaimsAsync(string jwt, CancellationToken ct)
    {
        var parts = jwt.Split('.');
        using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        using var jwks = JsonDocument.Parse(await _http.GetStringAsync(_authority.JwksUri, ct));
        var key = jwks.RootElement.GetProperty("keys").EnumerateArray()
            .Single(k => k.GetProperty("kid").GetString() == header.RootElement.GetProperty("kid").GetString());
        using var rsa = RSA.Create(new RSAParameters
        {
            Modulus = FromBase64Url(key.GetProperty("n").GetString()!),
            Exponent = FromBase64Url(key.GetProperty("e").GetString()!),
        });
        Assert.True(rsa.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1), "the id_token's signature does not verify with the published key");
        return JsonDocument.Parse(FromBase64Url(parts[1])).RootElement.Clone();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
