using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using SmartMail.Worker.Security;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Web.Tests.Security;

/// <summary>
/// Issue 24, finding 6: access is revoked. A caseworker removed from a mailbox's role at the identity provider loses the
/// mailbox within minutes while still active (not after the 8-hour cookie), and signing out ends the provider's session
/// too (its <c>end_session_endpoint</c>), so that a shared PC does not sign the previous user back in.
/// </summary>
public sealed class AccessRevocationTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly Dictionary<string, string> _annasClaims = new(StringComparer.Ordinal) { ["roles"] = "SmartMail.Caseworker.A" };
    private LocalOidcAuthority _authority = null!;
    private WebServer _server = null!;
    private System.Net.Security.RemoteCertificateValidationCallback _trust = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await LocalOidcAuthority.StartAsync();
        var (clientId, secret) = _authority.AddWebClient();
        _authority.AddUser("anna@kommune.dk", "Anna Caseworker", claims: _annasClaims);
        _trust = TrustedCa.Validator(X509CertificateLoader.LoadCertificateFromFile(_authority.CaFile));
        _server = await WebServer.StartAsync(new WebOptions
        {
            Oidc = { Authority = _authority.Issuer, ClientId = clientId, ClientSecret = secret, MailboxRoles = { ["SmartMail.Caseworker.A"] = ["A"] } },
        }, _trust, time: _clock);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _authority.DisposeAsync();
    }

    [Fact]
    public async Task Role_RemovedAtTheProvider_IsGoneWithinMinutes_WhileTheUserIsActive()
    {
        using var anna = await FollowAsync(_server.Client(_trust), "/login", "anna@kommune.dk");
        var (_, before, _) = await anna.PageAsync("/");

        _annasClaims["roles"] = "SmartMail.Former";
        _clock.Advance(TimeSpan.FromMinutes(2));
        var (_, stillActive, _) = await anna.PageAsync("/"); // active: the sliding cookie would be renewed
        _clock.Advance(TimeSpan.FromMinutes(4));
        await FollowAsync(anna, "/", "anna@kommune.dk");
        var (after, page, _) = await anna.PageAsync("/");

        Assert.Equal(["A"], before.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox")));
        Assert.Equal(["A"], stillActive.TestIds("mailbox-card").Select(c => c.GetAttribute("data-mailbox"))); // within the re-check interval
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("anna@kommune.dk", page.TestIds("user-name").Single().TextContent);
        Assert.Empty(page.TestIds("mailbox-card"));
    }

    [Fact]
    public async Task SignOut_EndsTheProvidersSession()
    {
        using var anna = await FollowAsync(_server.Client(_trust), "/login", "anna@kommune.dk");
        var (_, home, _) = await anna.PageAsync("/");

        using var signOut = await anna.SubmitAsync(home.DocumentElement, "signout");

        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.StartsWith(_authority.EndSessionEndpoint.ToString(), signOut.Headers.Location?.ToString(), StringComparison.Ordinal);
        var (afterwards, _, _) = await anna.PageAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, afterwards.StatusCode); // signed out of the app as well
    }

    // Follows redirects by hand (through the authority) from path until the app answers with a page of its own.
    private async Task<HttpClient> FollowAsync(HttpClient client, string path, string login)
    {
        _authority.AutoLogin = login;
        var next = new Uri(_server.BaseAddress, path);
        for (var hop = 0; hop < 8; hop++)
        {
            using var response = await client.GetAsync(next, TestContext.Current.CancellationToken);
            if (response.StatusCode is not (HttpStatusCode.Redirect or HttpStatusCode.Found))
            {
                Assert.Equal(_server.BaseAddress.Authority, next.Authority);
                return client;
            }
            next = new Uri(next, response.Headers.Location!);
        }
        throw new InvalidOperationException("sign-in did not come back");
    }
}
