using System.Net;
using System.Security.Cryptography.X509Certificates;
using SmartMail.Worker.Security;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Web.Tests;

/// <summary>
/// Sign-in through a real OpenID Connect authority on 127.0.0.1 (authorization code with PKCE): roles and groups decide
/// which mailboxes a user sees; a caseworker of mailbox A gets nothing of B.
/// </summary>
public sealed class OidcTests : IAsyncLifetime
{
    private LocalOidcAuthority _authority = null!;
    private WebServer _server = null!;
    private System.Net.Security.RemoteCertificateValidationCallback _trust = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await LocalOidcAuthority.StartAsync();
        var (clientId, secret) = _authority.AddWebClient();
        _authority.AddUser("anna@kommune.dk", "Anna Caseworker", roles: ["SmartMail.Caseworker.A"]);
        _authority.AddUser("gert@kommune.dk", "Gert Group", groups: ["group-b"]);
        _authority.AddUser("ida@kommune.dk", "Ida Admin", roles: ["SmartMail.Admin"]);
        _authority.AddUser("nobody@kommune.dk", "No Roles");
        _trust = TrustedCa.Validator(X509CertificateLoader.LoadCertificateFromFile(_authority.CaFile));
        _server = await WebServer.StartAsync(new WebOptions
        {
            Oidc =
            {
                Authority = _authority.Issuer,
                ClientId = clientId,
                ClientSecret = secret,
                MailboxRoles = { ["SmartMail.Caseworker.A"] = ["A"], ["group-b"] = ["B"] },
            },
        }, _trust);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _authority.DisposeAsync();
    }

    [Fact]
    public async Task SignIn_ByCodeFlow_NamesTheUserByPreferredUsername()
    {
        using var anna = await SignInAsync("anna@kommune.dk");

        var (response, page, _) = await anna.PageAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anna@kommune.dk", page.TestIds("user-name").Single().TextContent);
        Assert.Equal(["A"], page.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox")));
        Assert.Empty(page.TestIds("nav-models"));
    }

    [Fact]
    public async Task Caseworker_OfA_GetsNothingOfB()
    {
        using var anna = await SignInAsync("anna@kommune.dk");

        var triageB = await anna.PageAsync("/triage/B");
        var mailB = await anna.PageAsync("/mail/b0000001-0000-0000?full=true");
        var search = await anna.PageAsync("/search?sender=bodil");
        var quarantineB = await anna.PageAsync("/quarantine?mailbox=B");
        var models = await anna.PageAsync("/models");
        var (_, triageA, _) = await anna.PageAsync("/triage/A");
        using var routeB = await anna.SubmitAsync(triageA.TestIds("mail-row")[0], "suggest-1",
            new Dictionary<string, string> { ["decisionId"] = "b0000001-0000-0000", ["label"] = "Fortrolig" });

        foreach (var (response, _, body) in new[] { triageB, mailB, quarantineB })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Empty(body);
        }
        Assert.Equal("0", search.Page.TestIds("search-count").Single().TextContent);
        Assert.DoesNotContain(FakeBackend.SecretOfB, search.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, models.Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, routeB.StatusCode);
        Assert.Empty(_server.Backend.Calls);
    }

    [Fact]
    public async Task Group_GivesItsMailbox_AndActionsCarryTheName()
    {
        using var gert = await SignInAsync("gert@kommune.dk");
        var (_, page, _) = await gert.PageAsync("/triage/B");

        using var response = await gert.SubmitAsync(page.TestIds("mail-row").Single(), "suggest-1");

        Assert.Equal(HttpStatusCode.NotFound, (await gert.PageAsync("/triage/A")).Response.StatusCode);
        Assert.Equal(("route", "b0000001-0000-0000", "Fortrolig", "gert@kommune.dk"), Assert.Single(_server.Backend.Calls));
    }

    [Fact]
    public async Task AdminRole_SeesEveryMailbox_AndPromotes()
    {
        using var ida = await SignInAsync("ida@kommune.dk");
        var (_, overview, _) = await ida.PageAsync("/");
        var (_, confirm, _) = await ida.PageAsync("/models/confirm?op=promote&version=v2");

        using var done = await ida.SubmitAsync(confirm.DocumentElement, "confirm");

        Assert.Equal(["A", "B"], overview.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox")));
        Assert.Equal(("promote", "v2", null, "ida@kommune.dk"), Assert.Single(_server.Backend.Calls));
    }

    [Fact]
    public async Task NoRoles_SeesNoMailbox()
    {
        using var nobody = await SignInAsync("nobody@kommune.dk");

        var (_, page, _) = await nobody.PageAsync("/");
        var search = await nobody.PageAsync("/search?sender=example");

        Assert.Empty(page.TestIds("mailbox-card"));
        Assert.Equal("0", search.Page.TestIds("search-count").Single().TextContent);
        Assert.Equal(HttpStatusCode.NotFound, (await nobody.PageAsync("/mail/a01-0000-0000")).Response.StatusCode);
    }

    [Fact]
    public async Task SignInLink_IsOffWithOidc()
    {
        using var client = _server.Client();

        using var response = await client.GetAsync($"/signin?token={_server.SignIn.Token}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    // The browser's part: /login → the authority (signs the user in at once) → /signin-oidc with the code → the app's cookie.
    private async Task<HttpClient> SignInAsync(string login)
    {
        _authority.AutoLogin = login;
        var client = _server.Client(_trust);
        var next = new Uri(_server.BaseAddress, "/login");
        for (var hop = 0; hop < 6; hop++)
        {
            using var response = await client.GetAsync(next, TestContext.Current.CancellationToken);
            if (response.StatusCode != HttpStatusCode.Redirect && response.StatusCode != HttpStatusCode.Found)
            {
                throw new InvalidOperationException($"sign-in stopped at {next.GetLeftPart(UriPartial.Path)} with {(int)response.StatusCode}");
            }
            next = new Uri(next, response.Headers.Location!);
            if (next.Authority == _server.BaseAddress.Authority && next.AbsolutePath == "/")
            {
                return client;
            }
        }
        throw new InvalidOperationException("sign-in did not come back");
    }
}
