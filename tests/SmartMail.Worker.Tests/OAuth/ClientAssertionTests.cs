using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using SmartMail.Worker.Auth;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>The certificate sign-in's client assertion as RFC 7519/7523 and OpenID Connect Core 9 want it.</summary>
public sealed class ClientAssertionTests
{
    [Fact]
    public void Create_HasNumericDates_TheTokenEndpointAsAudience_TheClientAsIssuerAndSubject_AndBothThumbprintHeaders()
    {
        using var key = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=smartmail", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var now = DateTimeOffset.FromUnixTimeSeconds(1_796_593_612);

        var jwt = ClientAssertion.Create(certificate, "smartmail-client", "https://op.kommune.example/token", now);

        var parts = jwt.Split('.');
        using var header = JsonDocument.Parse(Decode(parts[0]));
        using var claims = JsonDocument.Parse(Decode(parts[1]));
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal(Encode(certificate.GetCertHash(HashAlgorithmName.SHA1)), header.RootElement.GetProperty("x5t").GetString());
        Assert.Equal(Encode(certificate.GetCertHash(HashAlgorithmName.SHA256)), header.RootElement.GetProperty("x5t#S256").GetString());
        Assert.False(header.RootElement.TryGetProperty("kid", out _));
        var c = claims.RootElement;
        Assert.Equal(JsonValueKind.Number, c.GetProperty("nbf").ValueKind);
        Assert.Equal(JsonValueKind.Number, c.GetProperty("exp").ValueKind);
        Assert.Equal(JsonValueKind.Number, c.GetProperty("iat").ValueKind);
        Assert.Equal(1_796_593_612, c.GetProperty("nbf").GetInt64());
        Assert.Equal(1_796_593_612 + 300, c.GetProperty("exp").GetInt64());
        Assert.Equal("https://op.kommune.example/token", c.GetProperty("aud").GetString());
        Assert.Equal("smartmail-client", c.GetProperty("iss").GetString());
        Assert.Equal("smartmail-client", c.GetProperty("sub").GetString());
        Assert.False(string.IsNullOrEmpty(c.GetProperty("jti").GetString()));
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Decode(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void Create_TwoAssertions_HaveDifferentJti()
    {
        using var key = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=smartmail", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var first = ClientAssertion.Create(certificate, "c", "https://op/token", DateTimeOffset.UtcNow);
        var second = ClientAssertion.Create(certificate, "c", "https://op/token", DateTimeOffset.UtcNow);

        Assert.NotEqual(Jti(first), Jti(second));
    }

    private static string? Jti(string jwt)
    {
        using var claims = JsonDocument.Parse(Decode(jwt.Split('.')[1]));
        return claims.RootElement.GetProperty("jti").GetString();
    }

    private static byte[] Decode(string part)
    {
        var s = part.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
