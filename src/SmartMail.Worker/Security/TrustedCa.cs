using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace SmartMail.Worker.Security;

/// <summary>
/// The one TLS trust rule of every connection SmartMail makes (IMAP, SMTP): the system store first; failing that, a chain
/// to the configured CA alone (a municipality's own CA, or a test CA). A name mismatch is never forgiven, and nothing is
/// ever "accept all".
/// </summary>
public static class TrustedCa
{
    /// <summary>A validation callback trusting the system store and, when given, <paramref name="ca"/>.</summary>
    /// <param name="ca">The extra CA, or <see langword="null"/> for the system store only.</param>
    /// <returns>The callback.</returns>
    public static RemoteCertificateValidationCallback Validator(X509Certificate2? ca) => (_, certificate, _, errors) =>
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (ca is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    };
}
