using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// The third-party setup of the OAuth2 tests, started in the order each needs the other: the token-check shim, a Dovecot on
/// the Exchange profile checking tokens through it, and the provider with clients for the Dovecot user (and any other users).
/// </summary>
internal sealed class ThirdPartyRig : IAsyncDisposable
{
    private ThirdPartyRig(IntrospectionShim shim, Dovecot dovecot, ThirdPartyOidcProvider provider) => (Shim, Dovecot, Provider) = (shim, dovecot, provider);

    public IntrospectionShim Shim { get; }

    public Dovecot Dovecot { get; }

    public ThirdPartyOidcProvider Provider { get; }

    /// <summary>The Dovecot user's clients.</summary>
    public ThirdPartyOidcProvider.Clients Clients => Provider.ClientsFor[Dovecot.User];

    public static async Task<ThirdPartyRig> StartAsync(TimeSpan tokenLifetime, params string[] otherUsers)
    {
        var shim = await IntrospectionShim.StartAsync();
        var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: shim.Endpoint);
        var provider = await ThirdPartyOidcProvider.StartAsync(tokenLifetime, [dovecot.User, .. otherUsers]);
        shim.Use(provider);
        return new ThirdPartyRig(shim, dovecot, provider);
    }

    public async ValueTask DisposeAsync()
    {
        await Provider.DisposeAsync();
        await Dovecot.DisposeAsync();
        await Shim.DisposeAsync();
    }
}
