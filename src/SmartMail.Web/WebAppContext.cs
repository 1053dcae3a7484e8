using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace SmartMail.Web;

/// <summary>What the web app shares with the process it runs in.</summary>
/// <param name="Queries">What the pages read.</param>
/// <param name="Actions">What the pages do.</param>
/// <param name="LoggerFactory">The host's (redacting) logger factory; the app's own request logging is off.</param>
public sealed record WebAppContext(IOversightQueries Queries, IMailActions Actions, ILoggerFactory LoggerFactory)
{
    /// <summary>The one-time sign-in link when OpenID Connect is not configured; a new one is made when absent.</summary>
    public OneTimeSignIn? SignIn { get; init; }

    /// <summary>Where the cookie-protection keys are kept (so sign-ins survive a restart); in memory when absent.</summary>
    public string? KeysDirectory { get; init; }

    /// <summary>How the OpenID Connect authority's TLS certificate is checked, when not by the system store alone.</summary>
    public RemoteCertificateValidationCallback? OidcCertificateValidation { get; init; }

    /// <summary>Audits showing a mail's full text; without it the full text is never shown.</summary>
    public IAccessAudit? AccessAudit { get; init; }

    /// <summary>Citizens' requests for access and erasure (the privacy page); the page says so when absent.</summary>
    public IPrivacyRequests? Privacy { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
