using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace SmartMail.Worker.Security;

/// <summary>
/// The one TLS trust rule of every connection SmartMail makes (IMAP, SMTP, the token authority): the system store first;
/// failing that, a chain to the configured CA alone (a municipality's own CA, or a test CA). A name mismatch is never
/// forgiven, and nothing is ever "accept all". A refused certificate can be reported with its reason (the chain status).
/// </summary>
public static class TrustedCa
{
    /// <summary>A validation callback trusting the system store and, when given, <paramref name="ca"/>.</summary>
    /// <param name="ca">The extra CA, or <see langword="null"/> for the system store only.</param>
    /// <param name="rejected">Told why a certificate was refused (e.g. <c>PartialChain</c>, <c>RemoteCertificateNameMismatch</c>).</param>
    /// <returns>The callback.</returns>
    public static RemoteCertificateValidationCallback Validator(X509Certificate2? ca, Action<string>? rejected = null) => (_, certificate, systemChain, errors) =>
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (ca is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            rejected?.Invoke(Reason(errors, systemChain));
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        if (chain.Build(leaf))
        {
            return true;
        }
        rejected?.Invoke(Reason(SslPolicyErrors.RemoteCertificateChainErrors, chain));
        return false;
    };

    /// <summary>An HTTP handler that trusts as <see cref="Validator"/> does.</summary>
    /// <param name="ca">The extra CA, or <see langword="null"/> for the system store only.</param>
    /// <param name="rejected">Told why a certificate was refused.</param>
    /// <returns>The handler.</returns>
    public static SocketsHttpHandler HttpHandler(X509Certificate2? ca, Action<string>? rejected = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = Validator(ca, rejected);
        return handler;
    }

    private static string Reason(SslPolicyErrors errors, X509Chain? chain)
    {
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return "RemoteCertificateNameMismatch: the certificate is for another host name";
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "RemoteCertificateNotAvailable";
        }
        var statuses = chain?.ChainStatus.Select(s => s.Status.ToString()).Distinct().ToList() ?? [];
        return statuses.Count > 0 ? string.Join(", ", statuses) : errors.ToString();
    }
}
