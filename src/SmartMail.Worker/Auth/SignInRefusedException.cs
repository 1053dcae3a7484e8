namespace SmartMail.Worker.Auth;

/// <summary>
/// The authority or the mail server refused the sign-in for a reason a retry cannot fix (a wrong or expired secret, an
/// expired certificate, missing admin consent, an app without access to the mailbox). The mailbox stops; the message
/// names the cause and what to change, and never carries a secret or token.
/// </summary>
public sealed class SignInRefusedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SignInRefusedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The cause and the fix.</param>
    public SignInRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The cause and the fix.</param>
    /// <param name="innerException">What the authority or server said.</param>
    public SignInRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
