namespace SmartMail.Worker.Sources;

/// <summary>The mail left the watched folder before SmartMail delivered it (another client moved or deleted it).</summary>
public sealed class MailGoneException : IOException
{
    /// <summary>Creates the exception.</summary>
    public MailGoneException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public MailGoneException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public MailGoneException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
