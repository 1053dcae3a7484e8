using System.Globalization;

namespace SmartMail.Cli.Commands;

/// <summary>
/// The lines of <c>smartmail check</c>, printed as they come (<c>ok</c>, <c>warn</c>, <c>fail</c>, the item, what was seen
/// or what to fix), and its exit code: configuration (3) before mail server (4) before any other failure (1).
/// </summary>
internal sealed class CheckReport(TextWriter output)
{
    /// <summary>What a failure is about, for the exit code.</summary>
    public enum Kind
    {
        /// <summary>Anything else: the model, a folder not writable, a webhook not reachable (exit code 1).</summary>
        Failure,

        /// <summary>A mail server (IMAP or SMTP) refused or could not be reached (exit code 4).</summary>
        MailServer,

        /// <summary>A setting is wrong (exit code 3).</summary>
        Configuration,
    }

    private readonly List<Kind> _failures = [];
    private int _ok;
    private int _warnings;

    public void Ok(string item, string text)
    {
        _ok++;
        Write("ok", item, text);
    }

    public void Warn(string item, string text)
    {
        _warnings++;
        Write("warn", item, text);
    }

    public void Fail(Kind kind, string item, string text)
    {
        _failures.Add(kind);
        Write("fail", item, text);
    }

    /// <summary>The last line: the counts.</summary>
    public void Summary() => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{_ok} ok, {_warnings} warnings, {_failures.Count} failed{(_failures.Count == 0 ? ": nothing to fix" : "")}."));

    /// <summary>3 if a setting is wrong, else 4 if a mail server failed, else 1 if anything else failed, else 0.</summary>
    public int ExitCode =>
        _failures.Contains(Kind.Configuration) ? ExitCodes.Configuration
        : _failures.Contains(Kind.MailServer) ? ExitCodes.MailServer
        : _failures.Count > 0 ? ExitCodes.Failure
        : ExitCodes.Ok;

    private void Write(string status, string item, string text) => output.WriteLine($"{status,-5} {item}: {text}");
}
