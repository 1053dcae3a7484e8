namespace SmartMail.Worker.Sinks;

/// <summary>
/// The destination cannot take mail right now (connection refused or reset, time-out, a busy or failing server): the
/// mail is not at fault, so it waits in its source and is retried with backoff, without counting towards quarantine.
/// </summary>
public sealed class DeliveryUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DeliveryUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed (never the mail's content).</param>
    public DeliveryUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What failed (never the mail's content).</param>
    /// <param name="innerException">The cause.</param>
    public DeliveryUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
