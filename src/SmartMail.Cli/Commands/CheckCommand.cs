using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using SmartMail.Core.Classification;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Security;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail check</c>: the configuration test IT runs before a start or after an edit (as <c>rspamadm configtest</c>).
/// It validates the settings, signs in to every mailbox read-only (EXAMINE; no MOVE, no STORE, no lease, no CREATE),
/// reaches every sink without delivering (the journal by a probe file it removes, the SMTP relay by EHLO and sign-in, a
/// webhook by a HEAD request), loads the model and the web settings, and prints one line per item. It writes nothing in
/// the data directory: no ledger is opened or created.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("check", $"""
            Checks an installation without changing anything: the configuration, a read-only sign-in to every mailbox
            (its watched folder opened with EXAMINE, its destination folders looked up), the journal folder (a probe file,
            removed again), the SMTP relay (EHLO and sign-in, nothing sent), every webhook (a HEAD request, no decision
            posted), the model and the web app's settings. One line per item: ok, warn (works, but look) or fail with the
            setting to fix. Exit code 3 when a setting is wrong, else 4 when a mail server failed, else 1 when anything
            else failed, else 0. No mail moves and no state is written.
            {CliOptions.SettingsNote}
            """);
        command.SetAction((_, cancellationToken) => RunAsync(settings, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string[] settings, CancellationToken cancellationToken)
    {
        var report = new CheckReport(Console.Out);
        SmartMailOptions options;
        try
        {
            using var host = WorkerConfig.Build(settings);
            options = BackupCommand.OptionsWithoutSideEffects(host);
        }
        catch (ConfigurationException ex)
        {
            foreach (var problem in ex.Problems)
            {
                report.Fail(CheckReport.Kind.Configuration, "configuration", problem);
            }
            return report.ExitCode;
        }
        report.Ok("configuration", string.Create(CultureInfo.InvariantCulture,
            $"valid ({Count(options.Mailboxes.Count, "mailbox", "mailboxes")}, {Count(options.Routes.Count, "route", "routes")}, {Count(options.Rules.Count, "rule", "rules")})"));

        CheckDataDirectory(report, options);
        var labels = CheckModel(report, options);
        for (var index = 0; index < options.Mailboxes.Count; index++)
        {
            await CheckMailboxAsync(report, options, index, labels, cancellationToken);
        }
        CheckInbox(report, options);
        CheckJournal(report, options, labels);
        await CheckSmtpAsync(report, options, cancellationToken);
        await CheckWebhooksAsync(report, options, cancellationToken);
        await CheckWebAsync(report, options, cancellationToken);
        report.Summary();
        return report.ExitCode;
    }

    private static string Count(int n, string one, string many) => string.Create(CultureInfo.InvariantCulture, $"{n} {(n == 1 ? one : many)}");

    // Nothing is created here: a missing data directory is made by the first run, so its nearest existing parent must be writable.
    private static void CheckDataDirectory(CheckReport report, SmartMailOptions options)
    {
        const string item = "data directory";
        var dir = Path.GetFullPath(options.DataDirectory);
        if (!Directory.Exists(dir))
        {
            WritableOrFail(report, item, dir, "SmartMail:DataDirectory", $"{dir} does not exist yet; the first run creates it");
            return;
        }
        var state = StateStores.SqlitePath(dir);
        var ledger = File.Exists(state)
            ? string.Create(CultureInfo.InvariantCulture, $"state.db {new FileInfo(state).Length / 1024.0:F0} KiB")
            : "no state.db yet (made by the first run)";
        if (Probe(dir) is { } error)
        {
            report.Fail(CheckReport.Kind.Failure, item, $"{dir} is not writable ({error}): give the service user write access, or change SmartMail:DataDirectory.");
            return;
        }
        report.Ok(item, $"{dir}: writable, {ledger}");
    }

    private static IReadOnlyList<string> CheckModel(CheckReport report, SmartMailOptions options)
    {
        var path = options.ModelPath;
        var setting = "SmartMail:ModelPath";
        try
        {
            // The promoted model, from the state store's model registry (no store yet: nothing was promoted).
            if (options.State.IsPostgreSql || File.Exists(StateStores.SqlitePath(options.DataDirectory)))
            {
                using var store = StateStores.Open(options);
                path = SmartMail.Worker.Learning.ModelRegistry.For(options, store).ActivePath;
                setting = path == options.ModelPath ? setting : "the promoted model (the state store's model registry: 'smartmail models rollback' or promote another)";
            }
            using var bundle = ModelBundle.Load(path);
            report.Ok("model", string.Create(CultureInfo.InvariantCulture,
                $"{bundle.Manifest.ModelVersion} ({bundle.Model.Labels.Count} labels) from {path}"));
            return bundle.Model.Labels;
        }
        catch (Exception ex) when (ex is ModelBundleException or IOException or UnauthorizedAccessException)
        {
            report.Fail(CheckReport.Kind.Failure, "model", $"{setting}: '{path}' cannot be served: {OneLine(ex.Message)}");
            return [];
        }
    }

    // The destinations a label, triage or quarantine goes to, with their kind (Default, Folder, Smtp, Webhook).
    private static IEnumerable<(string Destination, RouteKind Kind)> Destinations(SmartMailOptions options, IReadOnlyList<string> labels)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels.Concat(options.Routes.Keys).Concat(options.Rules.Select(r => r.Label)))
        {
            var route = options.Routes.GetValueOrDefault(label);
            var destination = route?.Destination ?? label;
            if (seen.Add(destination))
            {
                yield return (destination, route?.Kind ?? RouteKind.Default);
            }
        }
        foreach (var special in new[] { options.ManualTriageDestination, options.QuarantineDestination })
        {
            if (seen.Add(special))
            {
                yield return (special, RouteKind.Default);
            }
        }
    }

    private static async Task CheckMailboxAsync(CheckReport report, SmartMailOptions options, int index, IReadOnlyList<string> labels, CancellationToken cancellationToken)
    {
        var mailbox = options.Mailboxes[index];
        var item = $"mailbox '{mailbox.Name}'";
        var setting = $"SmartMail:Mailboxes:{index}";
        try
        {
            using var client = ImapConnection.NewClient(mailbox);
            await ImapConnection.ConnectAsync(client, mailbox, cancellationToken);
            var watched = await client.GetFolderAsync(mailbox.Folder, cancellationToken);
            await watched.OpenAsync(FolderAccess.ReadOnly, cancellationToken); // EXAMINE: flags and \Recent stay as they are
            report.Ok(item, string.Create(CultureInfo.InvariantCulture,
                $"{mailbox.Host}:{mailbox.Port}: signed in as '{mailbox.Username}', folder '{mailbox.Folder}' opened read-only with {watched.Count} mails waiting"));
            var separator = client.PersonalNamespaces.Count > 0 ? client.PersonalNamespaces[0].DirectorySeparator : '.';
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            var existing = (await root.GetSubfoldersAsync(false, cancellationToken)).Where(f => f.Exists).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
            var wanted = Destinations(options, labels).Where(d => d.Kind == RouteKind.Default).Select(d => d.Destination).Append(mailbox.ProcessedFolder)
                .Select(d => ImapFolderCache.FolderName(d, separator)).Distinct(StringComparer.Ordinal).ToList();
            var missing = wanted.Where(f => !existing.Contains(f)).ToList();
            if (missing.Count == 0)
            {
                report.Ok($"{item} folders", string.Create(CultureInfo.InvariantCulture, $"all {wanted.Count} destination folders exist"));
            }
            else
            {
                report.Warn($"{item} folders", string.Create(CultureInfo.InvariantCulture,
                    $"{missing.Count} of {wanted.Count} destination folders do not exist yet ({string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", …" : "")}): ")
                    + $"SmartMail creates each at its first delivery if '{mailbox.Username}' may create folders; else create them by hand (or route those labels elsewhere with SmartMail:Routes).");
            }
            if (mailbox.UseLease && !existing.Contains(mailbox.LeaseFolder))
            {
                report.Warn($"{item} lease", $"the lease folder '{mailbox.LeaseFolder}' does not exist yet: the first run creates it ({setting}:LeaseFolder; '{mailbox.Username}' must be allowed to create and rename folders there).");
            }
            await client.DisconnectAsync(true, cancellationToken);
        }
        catch (MailboxConfigurationException ex)
        {
            report.Fail(CheckReport.Kind.Configuration, item, ex.Setting is { } s ? $"{setting}:{s}: {OneLine(ex.Message)}" : OneLine(ex.Message));
        }
        catch (FolderNotFoundException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Fail(CheckReport.Kind.MailServer, item, $"the watched folder '{mailbox.Folder}' does not exist on {mailbox.Host}: fix {setting}:Folder.");
        }
        catch (Exception ex) when (MailServerErrors.Describe(ex, mailbox, index, cancellationToken) is { } line)
        {
            report.Fail(CheckReport.Kind.MailServer, item, line);
        }
    }

    // The drop-folder inbox (without mailboxes): the worker takes mail out of it, so it must be writable.
    private static void CheckInbox(CheckReport report, SmartMailOptions options)
    {
        if (options.Mailboxes.Count > 0)
        {
            return;
        }
        var inbox = Path.GetFullPath(options.InboxPath);
        WritableOrFail(report, "inbox", inbox, "SmartMail:Inbox", Directory.Exists(inbox)
            ? string.Create(CultureInfo.InvariantCulture, $"{inbox}: writable, {Directory.GetFiles(inbox, "*.eml").Length} mails waiting")
            : $"{inbox} does not exist yet; the first run creates it");
    }

    // The journal drop folder: written through a probe file that is removed again (nothing is created when it is missing).
    private static void CheckJournal(CheckReport report, SmartMailOptions options, IReadOnlyList<string> labels)
    {
        var used = options.Mailboxes.Count == 0 || Destinations(options, labels).Any(d => d.Kind == RouteKind.Folder);
        if (!used)
        {
            return;
        }
        var journal = Path.GetFullPath(options.JournalPath);
        WritableOrFail(report, "journal", journal, "SmartMail:Journal", Directory.Exists(journal)
            ? $"{journal}: writable (probe file written and removed)"
            : $"{journal} does not exist yet; the first delivery creates it");
    }

    private static void WritableOrFail(CheckReport report, string item, string directory, string setting, string okText)
    {
        var existing = new DirectoryInfo(directory);
        while (existing is { Exists: false })
        {
            existing = existing.Parent;
        }
        if (existing is null)
        {
            report.Fail(CheckReport.Kind.Failure, item, $"{directory}: no part of the path exists: fix {setting}.");
        }
        else if (Probe(existing.FullName) is { } error)
        {
            report.Fail(CheckReport.Kind.Failure, item, $"{existing.FullName} is not writable ({error}): give the service user write access, or change {setting}.");
        }
        else
        {
            report.Ok(item, okText);
        }
    }

    // Writes and deletes a uniquely named file: the folder's listing is the same before and after.
    private static string? Probe(string directory)
    {
        var probe = Path.Combine(directory, $".smartmail-check-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        try
        {
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }
            return File.Exists(probe) ? "the probe file could not be removed" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return OneLine(ex.Message);
        }
    }

    private static async Task CheckSmtpAsync(CheckReport report, SmartMailOptions options, CancellationToken cancellationToken)
    {
        if (options.Smtp is not { } smtp)
        {
            return;
        }
        const string section = "SmartMail:Smtp";
        const string item = "SMTP relay";
        X509Certificate2? ca;
        try
        {
            ca = smtp.CaCertificateFile is { } file ? X509CertificateLoader.LoadCertificateFromFile(file) : null;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            report.Fail(CheckReport.Kind.Configuration, item, $"{section}:CaCertificateFile: '{smtp.CaCertificateFile}' is not a readable certificate ({ex.GetType().Name}).");
            return;
        }
        using var trusted = ca;
        try
        {
            using var client = new SmtpClient
            {
                Timeout = (int)Math.Min(int.MaxValue, smtp.Timeout.TotalMilliseconds),
                ServerCertificateValidationCallback = TrustedCa.Validator(ca),
            };
            var security = smtp.Security switch
            {
                SmtpForwardSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
                SmtpForwardSecurity.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(smtp.Host, smtp.Port, security, cancellationToken); // EHLO (and STARTTLS)
            var signedIn = "no sign-in configured";
            if (smtp.UsesOAuth2)
            {
                using var tokens = new OAuth2TokenSource(smtp.OAuth2, $"{section}:OAuth2");
                await MailSignIn.AuthenticateAsync(client, smtp.Username!, null, tokens, $"{section}:OAuth2", cancellationToken);
                signedIn = $"signed in as '{smtp.Username}' (OAuth2)";
            }
            else if (!string.IsNullOrEmpty(smtp.Username))
            {
                await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", cancellationToken);
                signedIn = $"signed in as '{smtp.Username}'";
            }
            await client.DisconnectAsync(true, cancellationToken);
            report.Ok(item, string.Create(CultureInfo.InvariantCulture, $"{smtp.Host}:{smtp.Port}: EHLO answered, {signedIn}; nothing sent"));
        }
        catch (SignInRefusedException ex)
        {
            report.Fail(CheckReport.Kind.MailServer, item, OneLine(ex.Message));
        }
        catch (AuthenticationException)
        {
            report.Fail(CheckReport.Kind.MailServer, item, $"{smtp.Host}:{smtp.Port} refused the sign-in of '{smtp.Username}': check {section}:Username and {section}:Password (from the environment).");
        }
        catch (SslHandshakeException ex)
        {
            report.Fail(CheckReport.Kind.MailServer, item, $"{smtp.Host}:{smtp.Port}: the TLS handshake failed ({OneLine(ex.Message)}): check {section}:Security (StartTls for 587, SslOnConnect for 465) and {section}:CaCertificateFile.");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or SmtpCommandException or SmtpProtocolException
            or TimeoutException or NotSupportedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            report.Fail(CheckReport.Kind.MailServer, item, $"cannot use {smtp.Host}:{smtp.Port} ({OneLine(ex.Message)}): check {section}:Host, {section}:Port and {section}:Security, and that a firewall lets the connection through.");
        }
    }

    // A HEAD request per webhook URL: any HTTP answer shows the receiver is reachable; nothing is posted.
    private static async Task CheckWebhooksAsync(CheckReport report, SmartMailOptions options, CancellationToken cancellationToken)
    {
        var hooks = options.Routes.Where(r => r.Value.Kind == RouteKind.Webhook && r.Value.Url is not null)
            .GroupBy(r => r.Value.Url!).Select(g => (Url: g.Key, Setting: $"SmartMail:Routes:{g.First().Key}:Url")).ToList();
        if (hooks.Count == 0)
        {
            return;
        }
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = options.Webhook.Timeout };
        foreach (var (url, setting) in hooks)
        {
            var item = $"webhook {url.GetLeftPart(UriPartial.Path)}";
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Head, url);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                report.Ok(item, string.Create(CultureInfo.InvariantCulture, $"reachable (HEAD answered {(int)response.StatusCode} {response.ReasonPhrase}); nothing posted"));
            }
            catch (Exception ex) when (ex is HttpRequestException || ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                report.Fail(CheckReport.Kind.Failure, item, $"not reachable ({OneLine(ex.InnerException?.Message ?? ex.Message)}): check {setting}, that the receiver runs and that a firewall lets the connection through.");
            }
        }
    }

    // The settings were validated with the rest; here the files they name are loaded, and an OpenID Connect authority asked for its metadata.
    private static async Task CheckWebAsync(CheckReport report, SmartMailOptions options, CancellationToken cancellationToken)
    {
        const string item = "web app";
        const string section = "SmartMail:Web";
        var web = options.Web;
        if (!web.Enabled)
        {
            report.Ok(item, $"off ({section}:Enabled=false)");
            return;
        }
        if (web.Https.CertificateFile is { Length: > 0 } pfx)
        {
            try
            {
                var password = web.Https.CertificatePasswordFile is { Length: > 0 } pw ? File.ReadAllText(pw).TrimEnd('\r', '\n') : null;
                using var certificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, password);
                if (!certificate.HasPrivateKey)
                {
                    report.Fail(CheckReport.Kind.Configuration, item, $"{section}:Https:CertificateFile: '{pfx}' holds no private key: export the certificate with its key (.pfx).");
                    return;
                }
                if (certificate.NotAfter < DateTime.Now)
                {
                    report.Fail(CheckReport.Kind.Configuration, item, string.Create(CultureInfo.InvariantCulture, $"{section}:Https:CertificateFile: '{pfx}' expired on {certificate.NotAfter:yyyy-MM-dd}: renew it."));
                    return;
                }
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
            {
                report.Fail(CheckReport.Kind.Configuration, item, $"{section}:Https:CertificateFile: '{pfx}' cannot be loaded ({OneLine(ex.Message)}): check the file and {section}:Https:CertificatePasswordFile.");
                return;
            }
        }
        if (web.UsesOidc && web.Oidc.Authority is { } authority)
        {
            var metadata = new Uri(authority.AbsoluteUri.TrimEnd('/') + "/.well-known/openid-configuration");
            try
            {
                var ca = web.Oidc.CaCertificateFile is { Length: > 0 } caFile ? X509CertificateLoader.LoadCertificateFromFile(caFile) : null;
                using var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
                if (ca is not null)
                {
                    handler.SslOptions.RemoteCertificateValidationCallback = TrustedCa.Validator(ca);
                }
                using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
                using var response = await http.GetAsync(metadata, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    report.Fail(CheckReport.Kind.Failure, item, string.Create(CultureInfo.InvariantCulture,
                        $"{section}:Oidc:Authority: {metadata} answered {(int)response.StatusCode}: check the issuer address (for Entra ID https://login.microsoftonline.com/<tenant>/v2.0)."));
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or CryptographicException or IOException || ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                report.Fail(CheckReport.Kind.Failure, item, $"{section}:Oidc:Authority: {metadata} is not reachable ({OneLine(ex.InnerException?.Message ?? ex.Message)}): check the address, {section}:Oidc:CaCertificateFile and the firewall.");
                return;
            }
        }
        var keys = Path.Combine(options.DataDirectory, "web-keys");
        var keyCount = Directory.Exists(keys) ? Directory.GetFiles(keys, "*.xml").Length : 0;
        report.Ok(item, string.Create(CultureInfo.InvariantCulture,
            $"{web.Url} ({(web.UsesOidc ? "sign-in by OpenID Connect, authority answered" : "sign-in by one-time link")}{(web.Https.CertificateFile is { Length: > 0 } ? ", certificate loads" : "")}; {(keyCount == 0 ? "its keys are made at the first start" : $"{keyCount} key(s) in {keys}")})"));
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
