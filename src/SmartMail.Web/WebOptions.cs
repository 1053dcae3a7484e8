using System.Net;

namespace SmartMail.Web;

/// <summary>The web app's settings (section <c>SmartMail:Web</c>).</summary>
public sealed class WebOptions
{
    /// <summary>The section name under <c>SmartMail</c>.</summary>
    public const string SectionName = "Web";

    /// <summary>Whether the worker serves the web app while it watches.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Where the app listens, e.g. <c>http://127.0.0.1:5080</c> (the default) or <c>https://0.0.0.0:443</c>. Beyond loopback it
    /// needs <see cref="Oidc"/>, and https (<see cref="Https"/>) or <see cref="BehindProxy"/>.
    /// </summary>
    public string Url { get; set; } = "http://127.0.0.1:5080";

    /// <summary>
    /// Whether a reverse proxy terminates TLS in front of the app: the app then trusts <c>X-Forwarded-For</c>/<c>-Proto</c>/<c>-Host</c>
    /// from <see cref="KnownProxies"/> (loopback when empty) and may listen on plain http beyond loopback.
    /// </summary>
    public bool BehindProxy { get; set; }

    /// <summary>The proxies' addresses trusted for forwarded headers when <see cref="BehindProxy"/>; loopback is always trusted.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Kestrel's own TLS certificate, for an https <see cref="Url"/> without a reverse proxy.</summary>
    public WebHttpsOptions Https { get; set; } = new();

    /// <summary>
    /// A PKCS#12 (.pfx) certificate with its private key that encrypts the web app's cookie-protection keys at rest
    /// (<c>DataDirectory/web-keys</c>). Without it the keys are encrypted with DPAPI on Windows and kept in 0600 files of the
    /// service user on Linux. Whoever reads the keys can forge any user's sign-in cookie.
    /// </summary>
    public string? KeysCertificateFile { get; set; }

    /// <summary>A file holding the password of <see cref="KeysCertificateFile"/>, when it has one.</summary>
    public string? KeysCertificatePasswordFile { get; set; }

    /// <summary>Sign-in by OpenID Connect (Entra ID or any provider); without it, only the one-time link on loopback.</summary>
    public WebOidcOptions Oidc { get; set; } = new();

    /// <summary>
    /// The pages' language when the browser asks for neither Danish nor English (<c>da</c> or <c>en</c>); a browser whose
    /// Accept-Language names one of them, or the language switch in the navigation, picks that one.
    /// </summary>
    /// <value>The default is <c>da</c>.</value>
    public string Language { get; set; } = "da";

    /// <summary>The time zone the pages show times in (an IANA id such as <c>Europe/Copenhagen</c>).</summary>
    /// <value>The default is <c>Europe/Copenhagen</c>.</value>
    public string TimeZone { get; set; } = "Europe/Copenhagen";

    /// <summary>How long after a route from manual triage the caseworker can undo it (0 turns undo off).</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan UndoWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an open page asks for the number of mails waiting in manual triage.</summary>
    /// <value>The default is 15 seconds.</value>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The languages the pages speak: Danish first.</summary>
    public static IReadOnlyList<string> Languages { get; } = ["da", "en"];

    /// <summary>Whether OpenID Connect sign-in is configured (an authority is set).</summary>
    public bool UsesOidc => Oidc.Authority is not null;

    /// <summary>Whether <see cref="Url"/> is a loopback address (<c>127.0.0.1</c>, <c>[::1]</c>, <c>localhost</c>).</summary>
    public bool IsLoopback => TryParseUrl(Url, out var uri) && IsLoopbackHost(uri.Host);

    /// <summary>The rules a start-up check applies; every message starts with the setting's path under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The settings path, e.g. <c>SmartMail:Web</c>.</param>
    /// <returns>The failures; none when the app can start safely.</returns>
    public IEnumerable<string> Validate(string prefix)
    {
        if (!Enabled)
        {
            yield break;
        }
        if (!Languages.Contains(Language, StringComparer.Ordinal))
        {
            yield return $"{prefix}:Language: '{Language}' is not a language the pages speak; use da or en.";
        }
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone ?? string.Empty, out _))
        {
            yield return $"{prefix}:TimeZone: '{TimeZone}' is not a time zone this machine knows; use an IANA id such as Europe/Copenhagen.";
        }
        if (UndoWindow < TimeSpan.Zero || UndoWindow > TimeSpan.FromHours(1))
        {
            yield return $"{prefix}:UndoWindow: '{UndoWindow}' must be between 00:00:00 (no undo) and 01:00:00.";
        }
        if (RefreshInterval < TimeSpan.FromSeconds(1) || RefreshInterval > TimeSpan.FromHours(1))
        {
            yield return $"{prefix}:RefreshInterval: '{RefreshInterval}' must be between 00:00:01 and 01:00:00.";
        }
        if (!TryParseUrl(Url, out var uri))
        {
            yield return $"{prefix}:Url: '{Url}' is not an http:// or https:// address with a host and port, e.g. http://127.0.0.1:5080.";
            yield break;
        }
        var loopback = IsLoopbackHost(uri.Host);
        if (!loopback && !UsesOidc)
        {
            yield return $"{prefix}:Oidc:Authority: The app refuses to listen beyond loopback without sign-in ({prefix}:Url is {Url}): "
                + $"configure {prefix}:Oidc (Authority, ClientId), or listen on http://127.0.0.1.";
        }
        if (!loopback && uri.Scheme == Uri.UriSchemeHttp && !BehindProxy)
        {
            yield return $"{prefix}:Url: beyond loopback the app speaks https only: use an https:// Url with {prefix}:Https:CertificateFile, "
                + $"or set {prefix}:BehindProxy=true behind a reverse proxy that terminates TLS.";
        }
        if (BehindProxy && !UsesOidc)
        {
            yield return $"{prefix}:BehindProxy: the one-time sign-in link is for the local user only and is never served through a proxy: "
                + $"configure {prefix}:Oidc (Authority, ClientId) to serve the app behind a reverse proxy, or set BehindProxy=false.";
        }
        if (uri.Scheme == Uri.UriSchemeHttps && string.IsNullOrEmpty(Https.CertificateFile))
        {
            yield return $"{prefix}:Https:CertificateFile: an https:// Url needs Kestrel's certificate (a PKCS#12 .pfx file).";
        }
        foreach (var (name, file) in new[] { ("Https:CertificateFile", Https.CertificateFile), ("Https:CertificatePasswordFile", Https.CertificatePasswordFile),
                     ("Oidc:ClientSecretFile", Oidc.ClientSecretFile), ("Oidc:CaCertificateFile", Oidc.CaCertificateFile),
                     ("KeysCertificateFile", KeysCertificateFile), ("KeysCertificatePasswordFile", KeysCertificatePasswordFile) })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                yield return $"{prefix}:{name}: '{file}' does not exist.";
            }
        }
        foreach (var (i, proxy) in KnownProxies.Index())
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                yield return $"{prefix}:KnownProxies:{i}: '{proxy}' is not an IP address.";
            }
        }
        if (UsesOidc)
        {
            foreach (var failure in Oidc.Validate($"{prefix}:Oidc"))
            {
                yield return failure;
            }
        }
        else if (!string.IsNullOrEmpty(Oidc.ClientId))
        {
            yield return $"{prefix}:Oidc:Authority: set the issuer, e.g. https://login.microsoftonline.com/<tenant>/v2.0 (ClientId is set).";
        }
    }

    /// <summary>Parses an absolute http(s) URL.</summary>
    /// <param name="url">The URL.</param>
    /// <param name="uri">The parsed URL.</param>
    /// <returns>Whether it is one.</returns>
    public static bool TryParseUrl(string? url, out Uri uri)
    {
        // Kestrel's wildcard hosts (http://*:80, http://+:80) are not URIs: read them as "every address".
        var normalised = url?.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (Uri.TryCreate(normalised, UriKind.Absolute, out var parsed) && parsed is { Scheme: "http" or "https" } && parsed.Host.Length > 0
            && parsed.AbsolutePath == "/" && string.IsNullOrEmpty(parsed.Query))
        {
            uri = parsed;
            return true;
        }
        uri = null!; // not read when false
        return false;
    }

    private static bool IsLoopbackHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
