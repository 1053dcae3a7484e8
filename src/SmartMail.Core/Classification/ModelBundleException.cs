namespace SmartMail.Core.Classification;

/// <summary>A model bundle that SmartMail cannot serve: missing, corrupt, foreign or of another format.</summary>
public sealed class ModelBundleException : IOException
{
    /// <summary>Creates the exception.</summary>
    public ModelBundleException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, for the operator.</param>
    public ModelBundleException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong, for the operator.</param>
    /// <param name="innerException">The cause.</param>
    public ModelBundleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
