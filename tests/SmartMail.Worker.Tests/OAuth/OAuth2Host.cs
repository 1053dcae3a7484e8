using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>The whole worker host (<see cref="WorkerHost"/>) on one mailbox of a test Dovecot, signing in with OAuth2 at a local authority, every log category at Trace.</summary>
internal static class OAuth2Host
{
    public static IHost Build(string modelPath, string dataDirectory, Dovecot dovecot, LocalOidcAuthority authority, string clientId, string secretFile,
        ILoggerProvider logs, params string[] extra)
    {
        var builder = WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={modelPath}",
            $"--SmartMail:DataDirectory={dataDirectory}",
            "--SmartMail:Mailboxes:0:Name=m365",
            "--SmartMail:Mailboxes:0:Host=127.0.0.1",
            $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
            "--SmartMail:Mailboxes:0:Security=None",
            "--SmartMail:Mailboxes:0:AllowPlaintext=true",
            $"--SmartMail:Mailboxes:0:Username={dovecot.User}",
            "--SmartMail:Mailboxes:0:Authentication=OAuth2",
            "--SmartMail:Mailboxes:0:PollInterval=00:00:00.500",
            "--SmartMail:Mailboxes:0:CommandTimeout=00:00:15",
            "--SmartMail:Mailboxes:0:LeaseDuration=00:00:40",
            $"--SmartMail:Mailboxes:0:OAuth2:Authority={authority.Issuer}",
            $"--SmartMail:Mailboxes:0:OAuth2:ClientId={clientId}",
            $"--SmartMail:Mailboxes:0:OAuth2:ClientSecretFile={secretFile}",
            $"--SmartMail:Mailboxes:0:OAuth2:CaCertificateFile={authority.CaFile}",
            "--SmartMail:Mailboxes:0:OAuth2:Scopes:0=imap",
            "--SmartMail:Learning:CorrectionScanInterval=00:00:01",
            "--Logging:LogLevel:Default=Trace",
            .. extra,
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        return builder.Build();
    }
}
