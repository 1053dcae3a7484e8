using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using SmartMail.Worker.Imap;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// A throwaway real Dovecot on 127.0.0.1 (../shared/dovecot/start.sh) with a user and password generated for this
/// run. Skips the test with a clear message when the script, root or the dovecot package is not available.
/// </summary>
public sealed class Dovecot : IAsyncDisposable
{
    private readonly string _script;
    private readonly Dictionary<string, string> _env;

    private Dovecot(string scriptDir, string dir, int port, int? tlsPort, string? extra)
    {
        _script = scriptDir;
        Directory = dir;
        Port = port;
        TlsPort = tlsPort;
        User = "sm" + RandomNumberGenerator.GetHexString(6, lowercase: true);
        Password = RandomNumberGenerator.GetHexString(24, lowercase: true);
        _env = new Dictionary<string, string>();
        if (tlsPort is { } t)
        {
            _env["DOVECOT_TLS_PORT"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (extra is not null)
        {
            _env["DOVECOT_EXTRA"] = extra;
        }
    }

    public string Directory { get; }

    public int Port { get; }

    public int? TlsPort { get; }

    public string User { get; }

    public string Password { get; }

    public string CaFile => Path.Combine(Directory, "tls", "ca.pem");

    /// <summary>Dovecot settings hiding MOVE (and IDLE) from clients.</summary>
    public const string WithoutMove = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS IDLE";

    public static async Task<Dovecot> StartAsync(bool tls = false, string? extra = null)
    {
        var scripts = FindScripts();
        if (scripts is null)
        {
            Assert.Skip("../shared/dovecot/start.sh not found: IMAP integration tests need the shared Dovecot fixture.");
        }
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Skip("IMAP integration tests start a real Dovecot and need root (as in CI).");
        }
        var dir = System.IO.Directory.CreateTempSubdirectory("smartmail-dovecot-").FullName;
        var server = new Dovecot(scripts, dir, FreePort(), tls ? FreePort() : null, extra);
        await server.RunScriptAsync("start.sh", dir, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{server.User}:{server.Password}");
        return server;
    }

    public ImapMailboxOptions Options(string name = "test") => new()
    {
        Name = name,
        Host = "127.0.0.1",
        Port = Port,
        Security = "None",
        AllowPlaintext = true,
        Username = User,
        Password = Password,
        CommandTimeout = TimeSpan.FromSeconds(20),
        PollInterval = TimeSpan.FromSeconds(1),
    };

    /// <summary>A client for the test's own checks (a separate connection, as another mail client would be).</summary>
    public async Task<ImapClient> ClientAsync()
    {
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(User, Password);
        return client;
    }

    public Task AppendAsync(IEnumerable<byte[]> messages, string folder = "INBOX") => AppendCoreAsync(messages, folder, fingerprints: false);

    /// <summary>Appends to INBOX and returns each message's fingerprint as the server stores it (APPEND goes through MimeKit).</summary>
    public Task<List<string>> AppendFingerprintedAsync(IEnumerable<byte[]> messages) => AppendCoreAsync(messages, "INBOX", fingerprints: true);

    private async Task<List<string>> AppendCoreAsync(IEnumerable<byte[]> messages, string folder, bool fingerprints)
    {
        using var client = await ClientAsync();
        var target = await client.GetFolderAsync(folder);
        var uids = new List<UniqueId>();
        foreach (var raw in messages)
        {
            using var message = MimeMessage.Load(new MemoryStream(raw));
            uids.Add(await target.AppendAsync(message) ?? throw new InvalidOperationException("Dovecot answered APPEND without APPENDUID."));
        }
        var result = new List<string>();
        if (fingerprints && uids.Count > 0)
        {
            await target.OpenAsync(FolderAccess.ReadOnly);
            foreach (var uid in uids)
            {
                result.Add(await FingerprintAsync(target, uid));
            }
        }
        await client.DisconnectAsync(true);
        return result;
    }

    private static async Task<string> FingerprintAsync(IMailFolder folder, UniqueId uid)
    {
        using var stream = await folder.GetStreamAsync(uid);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return SmartMail.Core.Mime.MailExtractor.Fingerprint(buffer.ToArray());
    }

    /// <summary>Every message in every folder: folder name, keywords and fingerprint (SHA-256 of its bytes).</summary>
    public async Task<List<(string Folder, IReadOnlySet<string> Keywords, string Fingerprint)>> InventoryAsync()
    {
        using var client = await ClientAsync();
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

    public async Task RestartAsync()
    {
        await RunScriptAsync("stop.sh", Directory, "--keep");
        await RunScriptAsync("start.sh", Directory, Port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{User}:{Password}");
    }

    /// <summary>Restarts the server with its UID list deleted: every folder gets a new UIDVALIDITY and new UIDs.</summary>
    public async Task ResetUidValidityAsync()
    {
        await RunScriptAsync("stop.sh", Directory, "--keep");
        // The UID list and the index files (which cache UIDVALIDITY) are rebuilt from the maildir on start.
        var mail = Path.Combine(Directory, "mail", User);
        foreach (var file in System.IO.Directory.GetFiles(mail, "dovecot-uidlist", SearchOption.AllDirectories)
                     .Concat(System.IO.Directory.GetFiles(mail, "dovecot.index*", SearchOption.AllDirectories)))
        {
            File.Delete(file);
        }
        await RunScriptAsync("start.sh", Directory, Port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{User}:{Password}");
    }

    public async ValueTask DisposeAsync() => await RunScriptAsync("stop.sh", Directory);

    private async Task RunScriptAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(_script, script), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (k, v) in _env)
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    // A port the kernel calls free and this test run has not handed out before: two calls in a row (a plain and a TLS port)
    // or two servers of tests running in parallel got the same one (measured: "duplicate listener" from doveconf).
    private static int FreePort()
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

    private static string? FindScripts()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "dovecot");
            if (File.Exists(Path.Combine(candidate, "start.sh")))
            {
                return candidate;
            }
        }
        return null;
    }
}
