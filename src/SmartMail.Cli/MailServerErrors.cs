using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using SmartMail.Worker.Imap;

namespace SmartMail.Cli;

/// <summary>Turns what a mail server did into one line naming the mailbox, the cause and the fix (exit code 4).</summary>
internal static class MailServerErrors
{
    /// <summary>Runs <paramref name="work"/> on mailbox <paramref name="index"/>; a mail-server failure becomes a <see cref="MailServerException"/>.</summary>
    public static async Task GuardAsync(ImapMailboxOptions mailbox, int index, Func<Task> work, CancellationToken cancellationToken = default)
    {
        try
        {
            await work();
        }
        catch (Exception ex) when (Describe(ex, mailbox, index, cancellationToken) is { } line)
        {
            throw new MailServerException(line, ex);
        }
    }

    /// <summary>Runs <paramref name="work"/> on mailbox <paramref name="index"/>; a mail-server failure becomes a <see cref="MailServerException"/>.</summary>
    public static async Task<T> GuardAsync<T>(ImapMailboxOptions mailbox, int index, Func<Task<T>> work, CancellationToken cancellationToken = default)
    {
        try
        {
            return await work();
        }
        catch (Exception ex) when (Describe(ex, mailbox, index, cancellationToken) is { } line)
        {
            throw new MailServerException(line, ex);
        }
    }

    /// <summary>The line for <paramref name="ex"/>, or <see langword="null"/> when it is not the mail server's doing.</summary>
    public static string? Describe(Exception ex, ImapMailboxOptions mailbox, int index, CancellationToken cancellationToken = default)
    {
        var setting = $"SmartMail:Mailboxes:{index}";
        var who = $"mailbox '{mailbox.Name}' ({mailbox.Host}:{mailbox.Port})";
        return ex switch
        {
            // OAuth2: the messages name the party at fault (the token authority, the mail server) and the setting under the
            // mailbox ("OAuth2:..."), made the full path here; the mailbox is named once.
            SmartMail.Worker.Auth.SignInRefusedException refused =>
                $"mailbox '{mailbox.Name}': {Qualified(refused.Message, setting)}",
            _ when Find<SmartMail.Worker.Auth.TokenAuthorityUnavailableException>(ex) is { } authority =>
                $"mailbox '{mailbox.Name}': {Qualified(authority.Message, setting)}",
            _ when Find<SmartMail.Worker.Auth.TokenCheckUnavailableException>(ex) is { } check =>
                $"{who}: {OneLine(check.Message)}",
            AuthenticationException =>
                $"{who} refused the sign-in of '{mailbox.Username}': check {setting}:Username and the password ({setting}:PasswordFile, or {setting}:Password from the environment).",
            SslHandshakeException =>
                $"{who}: the TLS handshake failed ({OneLine(ex.Message)}): check {setting}:Security (SslOnConnect for port 993, StartTls for 143) and {setting}:CaCertificateFile.",
            _ when Find<SocketException>(ex) is { } socket =>
                $"cannot reach {mailbox.Host}:{mailbox.Port} for mailbox '{mailbox.Name}' ({OneLine(socket.Message)}): check {setting}:Host and {setting}:Port, that the server runs and that a firewall lets the connection through.",
            FolderNotFoundException missing =>
                $"{who}: the folder '{missing.FolderName}' does not exist and could not be created: create it by hand or let '{mailbox.Username}' create folders (or change the setting that names it under {setting}).",
            ImapCommandException { Response: not ImapCommandResponse.Ok } refused when refused.Message.Contains("'CREATE'", StringComparison.Ordinal) =>
                $"{who} refused to create a folder ({OneLine(refused.ResponseText)}): let '{mailbox.Username}' create folders, or create the folders SmartMail uses by hand ({setting}:ProcessedFolder, {setting}:LeaseFolder, one per destination).",
            LeaseUnavailableException =>
                $"{who}: {OneLine(ex.Message)}",
            ImapCommandException refused =>
                $"{who} refused a command: {OneLine(refused.Message)}",
            ImapProtocolException or ProtocolException =>
                $"{who} broke off the IMAP conversation ({OneLine(ex.Message)}): check {setting}:Host, {setting}:Port and {setting}:Security.",
            OperationCanceledException or TimeoutException when !cancellationToken.IsCancellationRequested =>
                $"{who} did not answer within {mailbox.CommandTimeout} ({setting}:CommandTimeout): check that the server is up and reachable.",
            IOException when ex.Message.Contains("could not be created", StringComparison.Ordinal) =>
                $"{who}: {OneLine(ex.Message)} Let '{mailbox.Username}' create folders, or create them by hand.",
            _ => null,
        };
    }

    private static T? Find<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }
        return null;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static string Qualified(string message, string setting) =>
        message.StartsWith("OAuth2", StringComparison.Ordinal) ? $"{setting}:{OneLine(message)}" : OneLine(message);
}
