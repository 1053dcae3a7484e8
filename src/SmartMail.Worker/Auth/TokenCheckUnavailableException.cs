namespace SmartMail.Worker.Auth;

/// <summary>
/// The mail server could not check the app's token now (IMAP <c>NO [UNAVAILABLE]</c>, RFC 5530: e.g. it cannot reach its
/// token introspection): transient, retried with backoff; the token is not at fault and the mailbox does not stop.
/// </summary>
public sealed class TokenCheckUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public TokenCheckUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What the server said.</param>
    public TokenCheckUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What the server said.</param>
    /// <param name="innerException">The server's answer.</param>
    public TokenCheckUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
