namespace SmartMail.Worker.Sources;

/// <summary>
/// Another SmartMail instance claimed the mail first (its claim keyword is on the message): this instance leaves it alone,
/// and the other one delivers it.
/// </summary>
public sealed class MailClaimedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public MailClaimedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public MailClaimedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public MailClaimedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
