namespace SmartMail.Cli;

/// <summary>The exit codes of <c>smartmail</c> (documented in <c>docs/operations.md</c> and <c>smartmail --help</c>).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed: unreadable data or model, a mail that could not be found, a busy data directory.</summary>
    public const int Failure = 1;

    /// <summary>Wrong command line: an unknown option, a missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary>Wrong configuration: appsettings.json unreadable, a setting misspelt, of the wrong type or out of range.</summary>
    public const int Configuration = 3;

    /// <summary>The mail server or the OAuth2 token authority: unreachable, TLS failed or not trusted, the sign-in was refused, or it refused a command (e.g. CREATE).</summary>
    public const int MailServer = 4;

    /// <summary>Stopped by Ctrl+C.</summary>
    public const int Cancelled = 130;

    /// <summary>The table printed by <c>smartmail --help</c>.</summary>
    public const string Table = """
        Exit codes:
          0    ok
          1    failure (unreadable data or model, no such mail, data directory in use)
          2    usage (unknown option, missing or malformed value)
          3    configuration (appsettings.json, a setting misspelt, of the wrong type or invalid)
          4    mail server or token authority (unreachable, TLS not trusted, sign-in refused, a command such as CREATE refused)
          130  cancelled (Ctrl+C)
        """;
}
