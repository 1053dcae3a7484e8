using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using SmartMail.Worker.Imap;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// A throwaway real Dovecot on 127.0.0.1 with a user and password generated for this run, owned by the repository: it
/// writes its own dovecot.conf and users file into a temp directory and runs the Debian dovecot binaries on them (installing
/// dovecot-imapd once when missing and running as root). Skips the test with a clear message without Linux, root or Dovecot.
/// Options of <see cref="StartAsync"/>: IMAPS and STARTTLS with a throwaway CA (<see cref="CaFile"/>), extra settings
/// (e.g. <see cref="WithoutMove"/>), a <see cref="DovecotProfile"/> (Exchange Online) and OAuth2 sign-in (XOAUTH2 and
/// OAUTHBEARER checked against an RFC 7662 introspection URL, e.g. <c>LocalOidcAuthority.BackChannelIntrospectionEndpoint</c>) and more than
/// one account (<c>accounts:</c>; the methods taking <c>account</c> address account n, 0 being <see cref="User"/>). Several servers run at
/// once, each on ports handed out once per test run.
/// </summary>
public sealed class Dovecot : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly DovecotConfig _config;
    private readonly DovecotInstall.Binaries _binaries;

    private Dovecot(DovecotInstall.Binaries binaries, DovecotConfig config, int accounts)
    {
        _binaries = binaries;
        _config = config;
        Accounts = [.. Enumerable.Range(0, accounts).Select(_ =>
            ("sm" + RandomNumberGenerator.GetHexString(6, lowercase: true), RandomNumberGenerator.GetHexString(24, lowercase: true)))];
    }

    /// <summary>The server's directory: dovecot.conf, users, mail/USER (maildir), run/, state/, dovecot.log, tls/.</summary>
    public string Directory => _config.Directory;

    public int Port => _config.Port;

    public int? TlsPort => _config.TlsPort;

    public DovecotProfile Profile => _config.Profile;

    public Uri? OAuth2IntrospectionUrl => _config.OAuth2IntrospectionUrl;

    /// <summary>The first account's user name.</summary>
    public string User => Accounts[0].User;

    /// <summary>The first account's password.</summary>
    public string Password => Accounts[0].Password;

    /// <summary>Every account (user name and password), the first being <see cref="User"/>; each has its own INBOX.</summary>
    public IReadOnlyList<(string User, string Password)> Accounts { get; }

    public string CaFile => _config.CaFile;

    /// <summary>Whether the server is running (between a start and a stop).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Dovecot settings hiding MOVE (and IDLE) from clients.</summary>
    public const string WithoutMove = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS IDLE";

    /// <summary>Starts a server with one account (<see cref="User"/>, <see cref="Password"/>), or <paramref name="accounts"/> of
    /// them (<see cref="Accounts"/>), each with an empty INBOX.</summary>
    /// <param name="tls">Also serve IMAPS on <see cref="TlsPort"/> and STARTTLS on <see cref="Port"/>, with a certificate from a throwaway CA (<see cref="CaFile"/>).</param>
    /// <param name="extra">dovecot.conf lines appended last (they override), e.g. <see cref="WithoutMove"/>.</param>
    /// <param name="profile">What the server looks like to a client.</param>
    /// <param name="oauth2IntrospectionUrl">Also accept SASL XOAUTH2 and OAUTHBEARER, each token checked by an RFC 7662 POST to this URL.</param>
    /// <param name="accounts">How many accounts (mailboxes) the server has, each with its own generated user and password.</param>
    public static async Task<Dovecot> StartAsync(bool tls = false, string? extra = null, DovecotProfile profile = DovecotProfile.Default,
        Uri? oauth2IntrospectionUrl = null, int accounts = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(accounts, 1);
        var (binaries, whyNot) = await DovecotInstall.EnsureAsync();
        if (binaries is null)
        {
            Assert.Skip(whyNot);
        }
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The test Dovecot runs on Linux only.");
        }
        var dir = System.IO.Directory.CreateTempSubdirectory("smartmail-dovecot-").FullName;
        var config = new DovecotConfig(dir, FreePort(), tls ? FreePort() : null, profile, oauth2IntrospectionUrl, extra);
        var server = new Dovecot(binaries, config, accounts);
        try
        {
            await server.WriteFilesAsync();
            await server.StartAgainAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Options of a mailbox named <paramref name="name"/> on account <paramref name="account"/> (0: <see cref="User"/>).</summary>
    public ImapMailboxOptions Options(string name = "test", int account = 0) => new()
    {
        Name = name,
        Host = "127.0.0.1",
        Port = Port,
        Security = "None",
        AllowPlaintext = true,
        Username = Accounts[account].User,
        Password = Accounts[account].Password,
        CommandTimeout = TimeSpan.FromSeconds(20),
        PollInterval = TimeSpan.FromSeconds(1),
    };

    /// <summary>A client for the test's own checks (a separate connection, as another mail client would be), signed in to
    /// account <paramref name="account"/> (0: <see cref="User"/>).</summary>
    public async Task<ImapClient> ClientAsync(int account = 0)
    {
        var (user, password) = Accounts[account];
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, password);
        return client;
    }

    public Task AppendAsync(IEnumerable<byte[]> messages, string folder = "INBOX", int account = 0) => AppendCoreAsync(messages, folder, fingerprints: false, account);

    /// <summary>Appends to INBOX of account <paramref name="account"/> and returns each message's fingerprint as the server
    /// stores it (APPEND goes through MimeKit).</summary>
    /// <param name="messages">The messages.</param>
    /// <param name="account">The account.</param>
    /// <param name="staged">Append to a staging folder, read back there and move into INBOX: for a mailbox a worker is
    /// already draining, which may take a mail before it could be read back in INBOX.</param>
    public Task<List<string>> AppendFingerprintedAsync(IEnumerable<byte[]> messages, int account = 0, bool staged = false) =>
        AppendCoreAsync(messages, "INBOX", fingerprints: true, account, staged);

    private async Task<List<string>> AppendCoreAsync(IEnumerable<byte[]> messages, string folder, bool fingerprints, int account, bool staged = false)
    {
        using var client = await ClientAsync(account);
        var target = await client.GetFolderAsync(folder);
        // Staged mail is appended to a folder no worker watches, read back there, then moved in: a running worker may take
        // mail from the target the moment it arrives (the fleet test read back a mail a worker had already moved).
        var landing = staged ? await StagingAsync(client) : target;
        var uids = new List<UniqueId>();
        foreach (var raw in messages)
        {
            using var message = MimeMessage.Load(new MemoryStream(raw));
            uids.Add(await landing.AppendAsync(message) ?? throw new InvalidOperationException("Dovecot answered APPEND without APPENDUID."));
        }
        var result = new List<string>();
        if (fingerprints && uids.Count > 0)
        {
            await landing.OpenAsync(staged ? FolderAccess.ReadWrite : FolderAccess.ReadOnly);
            foreach (var uid in uids)
            {
                result.Add(await FingerprintAsync(landing, uid));
            }
            if (staged)
            {
                await landing.MoveToAsync(uids, target);
            }
        }
        await client.DisconnectAsync(true);
        return result;
    }

    private static async Task<IMailFolder> StagingAsync(ImapClient client)
    {
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        try
        {
            var folder = await root.GetSubfolderAsync("_fixture-staging");
            if (folder.Exists)
            {
                return folder;
            }
        }
        catch (FolderNotFoundException)
        {
        }
        return await root.CreateAsync("_fixture-staging", true) ?? throw new InvalidOperationException("The fixture's staging folder could not be made.");
    }

    private static async Task<string> FingerprintAsync(IMailFolder folder, UniqueId uid)
    {
        using var stream = await folder.GetStreamAsync(uid);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return SmartMail.Core.Mime.MailExtractor.Fingerprint(buffer.ToArray());
    }

    /// <summary>Every message in every folder of account <paramref name="account"/> (0: <see cref="User"/>): folder name,
    /// keywords and fingerprint (SHA-256 of its bytes).</summary>
    public async Task<List<(string Folder, IReadOnlySet<string> Keywords, string Fingerprint)>> InventoryAsync(int account = 0)
    {
        using var client = await ClientAsync(account);
        var result = new List<(string, IReadOnlySet<string>, string)>();
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        var folders = (await root.GetSubfoldersAsync(false)).Append(client.Inbox).DistinctBy(f => f.FullName);
        foreach (var folder in folders)
        {
            await folder.OpenAsync(FolderAccess.ReadOnly);
            if (folder.Count > 0)
            {
                foreach (var summary in await folder.FetchAsync(0, -1, MessageSummaryItems.Flags | MessageSummaryItems.UniqueId))
                {
                    result.Add((folder.FullName, summary.Keywords.ToHashSet(), await FingerprintAsync(folder, summary.UniqueId)));
                }
            }
            await folder.CloseAsync();
        }
        await client.DisconnectAsync(true);
        return result;
    }

    /// <summary>Stops the server and keeps its mail: <see cref="StartAgainAsync"/> brings it back on the same port with
    /// the same mail, UIDs and UIDVALIDITY.</summary>
    public async Task StopAsync()
    {
        if (!IsRunning)
        {
            return;
        }
        IsRunning = false;
        var pidFile = Path.Combine(_config.RunDirectory, "master.pid");
        var pid = File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var p) ? p : (int?)null;
        await RunAsync(_binaries.Doveadm, check: false, "-c", _config.ConfigFile, "stop");
        var deadline = DateTime.UtcNow + StopTimeout;
        while (File.Exists(pidFile) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        if (File.Exists(pidFile) && pid is { } master)
        {
            // It did not stop in time: end the master this fixture started (its children exit with it).
            try
            {
                using var process = Process.GetProcessById(master);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
                // Gone in the meantime.
            }
            File.Delete(pidFile);
        }
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/> (or the first time): same config, ports and mail.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            return;
        }
        await RunAsync(_binaries.Dovecot, check: true, "-c", _config.ConfigFile);
        IsRunning = true;
        await WaitListeningAsync(Port);
        if (TlsPort is { } tlsPort)
        {
            await WaitListeningAsync(tlsPort);
        }
    }

    /// <summary>Stops the server and starts it again on the same port: mail, UIDs and UIDVALIDITY survive.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAgainAsync();
    }

    /// <summary>Restarts the server with its UID list deleted: every folder gets a new UIDVALIDITY and new UIDs.</summary>
    public async Task ResetUidValidityAsync()
    {
        await StopAsync();
        // The UID list and the index files (which cache UIDVALIDITY) are rebuilt from the maildir on start.
        var mail = Path.Combine(_config.MailDirectory, User);
        foreach (var file in System.IO.Directory.GetFiles(mail, "dovecot-uidlist", SearchOption.AllDirectories)
                     .Concat(System.IO.Directory.GetFiles(mail, "dovecot.index*", SearchOption.AllDirectories)))
        {
            File.Delete(file);
        }
        await StartAgainAsync();
    }

    /// <summary>The server's log (dovecot.log), for a failing test's message.</summary>
    public string Log() => File.Exists(_config.LogFile) ? File.ReadAllText(_config.LogFile) : "";

    /// <summary>Stops the server and deletes its directory with the mail.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    [SupportedOSPlatform("linux")]
    private async Task WriteFilesAsync()
    {
        // Dovecot's processes run as the dovecot user and must traverse every parent of the directory.
        OpenForTraversal(Directory);
        foreach (var dir in new[] { _config.RunDirectory, _config.StateDirectory, _config.MailDirectory })
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        File.WriteAllText(_config.UsersFile, DovecotConfig.Users(Accounts));
        if (OAuth2IntrospectionUrl is not null)
        {
            File.WriteAllText(_config.OAuth2File, _config.OAuth2Settings());
        }
        if (TlsPort is not null)
        {
            System.IO.Directory.CreateDirectory(_config.TlsDirectory);
            TestCertificateAuthority.Write(_config.CaFile, _config.CertificateFile, _config.KeyFile);
        }
        File.WriteAllText(_config.ConfigFile, _config.Render());
        var readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var traversable = readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(_config.RunDirectory, traversable);
        File.SetUnixFileMode(_config.StateDirectory, traversable);
        foreach (var file in new[] { _config.UsersFile, _config.OAuth2File, _config.ConfigFile }.Where(File.Exists))
        {
            File.SetUnixFileMode(file, readable);
        }
        // The maildirs are written by the dovecot user (mail_uid).
        await RunAsync("chown", check: true, "-R", "dovecot:dovecot", _config.MailDirectory);
    }

    // Temp directories are 0700 (Directory.CreateTempSubdirectory, mktemp -d): open ours for traversal (o+x, not listing)
    // when it is under the temp root; refuse any other parent the dovecot user cannot enter, naming it.
    [SupportedOSPlatform("linux")]
    private static void OpenForTraversal(string dir)
    {
        var temp = Path.GetFullPath(Path.GetTempPath()).TrimEnd('/');
        for (var current = new DirectoryInfo(dir); current is not null; current = current.Parent)
        {
            var mode = File.GetUnixFileMode(current.FullName);
            if ((mode & UnixFileMode.OtherExecute) != 0)
            {
                continue;
            }
            if (current.FullName.StartsWith(temp + "/", StringComparison.Ordinal))
            {
                File.SetUnixFileMode(current.FullName, mode | UnixFileMode.OtherExecute | (current.FullName == dir ? UnixFileMode.OtherRead : 0));
                continue;
            }
            throw new InvalidOperationException($"The dovecot user cannot enter {current.FullName} (mode {mode}): put the test Dovecot under a directory others can traverse (TMPDIR).");
        }
    }

    private async Task WaitListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"Dovecot did not listen on 127.0.0.1:{port} within {StartTimeout.TotalSeconds} s ({ex.SocketErrorCode}); its log: {Log()}", ex);
            }
        }
    }

    private static async Task RunAsync(string file, bool check, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    // A port the kernel calls free and this test run has not handed out before: two calls in a row (a plain and a TLS port)
    // or two servers of tests running in parallel got the same one (measured: "duplicate listener" from doveconf).
    internal static int FreePort()
    {
        lock (HandedOut)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
