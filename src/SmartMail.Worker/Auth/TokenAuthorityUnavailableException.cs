using System.Net;
using System.Net.Http;

namespace SmartMail.Worker.Auth;

/// <summary>
/// The token authority (<c>OAuth2:Authority</c>) cannot be reached or answers with a server error now: an outage, retried
/// with backoff. The message names the authority, never the mail server.
/// </summary>
public sealed class TokenAuthorityUnavailableException : HttpRequestException
{
    /// <summary>Creates the exception.</summary>
    public TokenAuthorityUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the authority.</param>
    public TokenAuthorityUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the authority.</param>
    /// <param name="innerException">What the HTTP client or MSAL said.</param>
    public TokenAuthorityUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the authority.</param>
    /// <param name="innerException">What the HTTP client or MSAL said.</param>
    /// <param name="statusCode">The authority's HTTP status, when it answered (429 is throttling).</param>
    public TokenAuthorityUnavailableException(string message, Exception? innerException, HttpStatusCode? statusCode)
        : base(message, innerException, statusCode)
    {
    }
}
