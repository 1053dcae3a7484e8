namespace SmartMail.Web;

/// <summary>Kestrel's TLS certificate (section <c>SmartMail:Web:Https</c>).</summary>
public sealed class WebHttpsOptions
{
    /// <summary>A PKCS#12 (.pfx) file with the server certificate and its private key.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>A file holding the password of <see cref="CertificateFile"/>, when it has one.</summary>
    public string? CertificatePasswordFile { get; set; }
}
