using System.Globalization;
using System.Text;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// The dovecot.conf and the users file of one test server, written from its settings. Everything lives under
/// <see cref="Directory"/>: config, maildirs (mail/USER), runtime files (run/), state (state/), log (dovecot.log), TLS files (tls/).
/// Dovecot reads no other config (not /etc/dovecot), so servers of tests running in parallel never share anything but the binary.
/// </summary>
internal sealed record DovecotConfig(
    string Directory,
    int Port,
    int? TlsPort,
    DovecotProfile Profile,
    Uri? OAuth2IntrospectionUrl,
    string? Extra)
{
    /// <summary>The capability list Exchange Online announces after login (as of 2026).</summary>
    public const string ExchangeOnlineCapabilities = "IMAP4 IMAP4rev1 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";

    /// <summary>The folders every Exchange Online mailbox has besides INBOX.</summary>
    public static readonly IReadOnlyList<string> ExchangeOnlineFolders = ["Sent Items", "Deleted Items", "Junk Email", "Drafts", "Archive"];

    public string ConfigFile => Path.Combine(Directory, "dovecot.conf");

    public string UsersFile => Path.Combine(Directory, "users");

    public string OAuth2File => Path.Combine(Directory, "oauth2.conf.ext");

    public string MailDirectory => Path.Combine(Directory, "mail");

    public string RunDirectory => Path.Combine(Directory, "run");

    public string StateDirectory => Path.Combine(Directory, "state");

    public string LogFile => Path.Combine(Directory, "dovecot.log");

    public string TlsDirectory => Path.Combine(Directory, "tls");

    public string CaFile => Path.Combine(TlsDirectory, "ca.pem");

    public string CertificateFile => Path.Combine(TlsDirectory, "server.pem");

    public string KeyFile => Path.Combine(TlsDirectory, "server.key");

    /// <summary>One line per account: <c>user:{PLAIN}password</c> (passwd-file).</summary>
    public static string Users(IEnumerable<(string User, string Password)> accounts) =>
        string.Concat(accounts.Select(a => $"{a.User}:{{PLAIN}}{a.Password}\n"));

    /// <summary>The oauth2 passdb's settings: RFC 7662 introspection by POST of <c>token=...</c>, active when <c>"active": true</c>.</summary>
    public string OAuth2Settings() => OAuth2IntrospectionUrl is null
        ? throw new InvalidOperationException("No OAuth2 introspection URL was given.")
        : $"""
          introspection_url = {OAuth2IntrospectionUrl.AbsoluteUri}
          introspection_mode = post
          username_attribute = username
          active_attribute = active
          active_value = true

          """;

    public string Render()
    {
        var conf = new StringBuilder();
        conf.Append(CultureInfo.InvariantCulture, $$"""
            base_dir = {{RunDirectory}}
            state_dir = {{StateDirectory}}
            log_path = {{LogFile}}
            protocols = imap
            listen = 127.0.0.1
            disable_plaintext_auth = no
            auth_mechanisms = {{(OAuth2IntrospectionUrl is null ? "plain login" : "plain login xoauth2 oauthbearer")}}
            default_internal_user = dovecot
            default_login_user = dovenull
            mail_location = maildir:{{MailDirectory}}/%u{{(Profile == DovecotProfile.ExchangeOnline ? ":LAYOUT=fs" : "")}}
            mail_uid = dovecot
            mail_gid = dovecot
            first_valid_uid = 1
            passdb {
              driver = passwd-file
              args = {{UsersFile}}
            }
            userdb {
              driver = static
              args = uid=dovecot gid=dovecot home={{MailDirectory}}/%u
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = {{Port}}
              }
              inet_listener imaps {
                address = 127.0.0.1
                port = {{TlsPort ?? 0}}
              }
            }
            # No growing delay (2 s up to 15 s) before each login after failed ones from 127.0.0.1: tests of refused
            # credentials or tokens would otherwise wait for it, and so would every test's later logins.
            service anvil {
              unix_listener anvil-auth-penalty {
                mode = 0
              }
            }

            """);
        conf.Append(TlsPort is null
            ? "ssl = no\n"
            : $"""
              ssl = yes
              ssl_cert = <{CertificateFile}
              ssl_key = <{KeyFile}

              """);
        if (OAuth2IntrospectionUrl is not null)
        {
            conf.Append(CultureInfo.InvariantCulture, $$"""
                passdb {
                  driver = oauth2
                  mechanisms = xoauth2 oauthbearer
                  args = {{OAuth2File}}
                }

                """);
        }
        if (Profile == DovecotProfile.ExchangeOnline)
        {
            conf.Append(CultureInfo.InvariantCulture, $"imap_capability = {ExchangeOnlineCapabilities}\n");
            conf.Append("namespace inbox {\n  inbox = yes\n  separator = /\n");
            foreach (var folder in ExchangeOnlineFolders)
            {
                conf.Append(CultureInfo.InvariantCulture, $"  mailbox \"{folder}\" {{\n    auto = subscribe\n  }}\n");
            }
            conf.Append("}\n");
        }
        if (Extra is not null)
        {
            // Appended last, so it overrides, e.g. imap_capability without MOVE or IDLE for fallback tests.
            conf.Append(Extra).Append('\n');
        }
        return conf.ToString();
    }
}
