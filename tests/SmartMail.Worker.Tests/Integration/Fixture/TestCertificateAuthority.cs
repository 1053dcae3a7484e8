using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// A throwaway CA (valid for two days) and a server certificate it signed for localhost and 127.0.0.1, written as PEM
/// files. Clients trust the CA file, never "accept all". Made with .NET's own crypto, so the fixture needs no openssl.
/// </summary>
internal static class TestCertificateAuthority
{
    [SupportedOSPlatform("linux")]
    public static void Write(string caFile, string certificateFile, string keyFile)
    {
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.AddDays(2);

        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=SmartMail test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var server = request.Create(ca, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));

        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(certificateFile, server.ExportCertificatePem() + "\n");
        // Dovecot reads the key as root when it starts (ssl_key = <file), so the key stays readable by root only.
        File.WriteAllText(keyFile, "");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(keyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
