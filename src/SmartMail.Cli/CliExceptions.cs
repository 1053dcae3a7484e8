namespace SmartMail.Cli;

/// <summary>Wrong command-line usage that the parser cannot see (e.g. two sources given): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Wrong configuration; the message names the setting or file and the fix: exit code 3.</summary>
internal sealed class ConfigurationException(IReadOnlyList<string> problems) : Exception(string.Join(Environment.NewLine, problems))
{
    public ConfigurationException(string problem)
        : this([problem])
    {
    }

    /// <summary>One line per problem.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>A mail server could not be used; the message names the mailbox, the cause and the fix: exit code 4.</summary>
internal sealed class MailServerException(string message, Exception innerException) : Exception(message, innerException);
