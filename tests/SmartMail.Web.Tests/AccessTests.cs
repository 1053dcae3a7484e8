using System.Net;

namespace SmartMail.Web.Tests;

/// <summary>Who gets what: signed-out requests get no content; pages for administrators refuse others.</summary>
public sealed class AccessTests
{
    public static TheoryData<string> Pages => ["/", "/triage/A", "/triage/B", "/mail/b0000001-0000-0000", "/mail/b0000001-0000-0000?full=true",
        "/search?sender=bodil", "/labels", "/quarantine", "/models", "/models/confirm?op=rollback", "/models/report/v2"];

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Get_SignedOut_RedirectsToSignIn_WithNoMailContent(string path)
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();

        var (response, _, body) = await client.PageAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location?.PathAndQuery ?? response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeBackend.SecretOfB, body, StringComparison.Ordinal);
        Assert.DoesNotContain("Ansøgning", body, StringComparison.Ordinal);
        Assert.DoesNotContain("@example.dk", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_WithoutOidc_SaysWhereTheLinkIs_With401()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();

        var (response, _, body) = await client.PageAsync("/login");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("signin?token=", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_SignedOut_Is401_AndTheBackendIsNotCalled()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["decisionId"] = "a01-0000-0000", ["label"] = "Byg" });

        using var response = await client.PostAsync("/triage/A?handler=Route", form, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(server.Backend.Calls);
    }

    [Fact]
    public async Task UnknownMail_Is404_WithNoContent()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (response, _, body) = await admin.PageAsync("/mail/nosuchid-0000");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(body);
    }

    [Fact]
    public async Task Pages_SendSecurityHeaders()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();

        var (response, _, _) = await admin.PageAsync("/triage/A");

        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task BehindProxy_Https_SendsHstsAndSecureCookies()
    {
        // Behind a proxy only OpenID Connect signs in (issue 24): the sign-in's correlation cookie shows the cookie policy.
        await using var authority = await SmartMail.Worker.Tests.OAuth.LocalOidcAuthority.StartAsync();
        var (clientId, secret) = authority.AddWebClient();
        var trust = SmartMail.Worker.Security.TrustedCa.Validator(
            System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(authority.CaFile));
        await using var server = await WebServer.StartAsync(new WebOptions
        {
            BehindProxy = true,
            Oidc = { Authority = authority.Issuer, ClientId = clientId, ClientSecret = secret, AdminRole = "SmartMail.Admin" },
        }, trust);
        using var client = server.Client(trust);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.Add("X-Forwarded-Proto", "https");

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("max-age=31536000", response.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
        Assert.All(response.Headers.GetValues("Set-Cookie"), c => Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Loopback_PlainHttp_SendsNoHsts()
    {
        await using var server = await WebServer.StartAsync();
        using var client = server.Client();

        using var response = await client.GetAsync($"/signin?token={server.SignIn.Token}", TestContext.Current.CancellationToken);

        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }
}
