using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartMail.Worker.Auth;

/// <summary>
/// The signed JWT a client authenticates with by certificate (RFC 7523 <c>private_key_jwt</c>, OpenID Connect Core 9):
/// RS256, headers <c>x5t</c> and <c>x5t#S256</c> (the certificate's SHA-1 and SHA-256 thumbprints, as Entra ID looks the
/// certificate up by), claims <c>iss</c> = <c>sub</c> = the client id, <c>aud</c> = the token endpoint, a fresh <c>jti</c>,
/// and <c>iat</c>/<c>nbf</c>/<c>exp</c> as NumericDate numbers (RFC 7519), valid for <see cref="Lifetime"/>.
/// </summary>
public static class ClientAssertion
{
    /// <summary>How long an assertion is valid: it is made for one token request.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>Signs an assertion.</summary>
    /// <param name="certificate">The client's certificate with its RSA private key.</param>
    /// <param name="clientId">The client id (<c>iss</c> and <c>sub</c>).</param>
    /// <param name="tokenEndpoint">The token endpoint the assertion is sent to (<c>aud</c>).</param>
    /// <param name="now">The time of signing.</param>
    /// <returns>The compact JWT.</returns>
    public static string Create(X509Certificate2 certificate, string clientId, string tokenEndpoint, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentException.ThrowIfNullOrEmpty(tokenEndpoint);
        // X509SecurityKey writes x5t itself; no kid, so that a provider that registered the key without one finds it.
        var key = new X509SecurityKey(certificate) { KeyId = null };
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenEndpoint,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["x5t#S256"] = Base64UrlEncoder.Encode(certificate.GetCertHash(HashAlgorithmName.SHA256)),
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
