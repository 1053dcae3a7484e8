using System.Net;
using System.Net.Sockets;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Cli.Tests;

/// <summary>
/// One-shot <c>smartmail run</c> against a real Dovecot (or a closed port, or a broken file): one line naming the cause
/// and the fix, the documented exit code, no stack trace.
/// </summary>
public sealed class RunFailureTests
{
    // The documented exit codes (docs/operations.md, smartmail --help).
    private const int ConfigurationExit = 3;
    private const int MailServerExit = 4;

    private static string[] Mailbox(int port, string user, string password, string dataDirectory) =>
    [
        "run",
        $"--SmartMail:DataDirectory={dataDirectory}",
        $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
        "--SmartMail:Mailboxes:0:Name=post",
        "--SmartMail:Mailboxes:0:Host=127.0.0.1",
        $"--SmartMail:Mailboxes:0:Port={port}",
        "--SmartMail:Mailboxes:0:Security=None",
        "--SmartMail:Mailboxes:0:AllowPlaintext=true",
        $"--SmartMail:Mailboxes:0:Username={user}",
        $"--SmartMail:Mailboxes:0:Password={password}",
        "--SmartMail:Mailboxes:0:CommandTimeout=00:00:45", // Dovecot delays each refused sign-in; MailKit tries more than one mechanism
    ];

    private static void AssertOneLine(CliProcess.Result result, int exitCode, params string[] mentions)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("smartmail: ", line, StringComparison.Ordinal);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, line, StringComparison.OrdinalIgnoreCase);
        }
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WrongPassword_OneLineNamingTheMailboxAndPassword_Exit4()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, Mailbox(dovecot.Port, dovecot.User, "not-the-password", data));

        AssertOneLine(result, MailServerExit, "post", "password");
    }

    [Fact]
    public async Task Run_UnreachableServer_OneLineNamingHostAndPort_Exit4()
    {
        var port = ClosedPort();
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, Mailbox(port, "someone", "secret", data));

        AssertOneLine(result, MailServerExit, $"127.0.0.1:{port}", "SmartMail:Mailboxes:0:Host");
    }

    [Fact]
    public async Task Run_ServerRefusesCreate_OneLineNamingTheFolder_Exit4()
    {
        // Dovecot's ACL plugin with a global ACL that leaves out the create right (k) everywhere.
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Dovecot runs on Linux.");
        var acl = Path.Combine(Directory.CreateTempSubdirectory("smartmail-acl-").FullName, "global-acl");
        await File.WriteAllTextAsync(acl, "* owner lrwstipe\n", TestContext.Current.CancellationToken);
        if (OperatingSystem.IsLinux())
        {
            // Dovecot's processes run as the dovecot user and read the ACL file.
            File.SetUnixFileMode(Path.GetDirectoryName(acl)!, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(acl, (UnixFileMode)0b110_100_100);
        }
        await using var dovecot = await Dovecot.StartAsync(extra: $$"""
            mail_plugins = $mail_plugins acl
            protocol imap {
              mail_plugins = $mail_plugins imap_acl
            }
            plugin {
              acl = vfile:{{acl}}
            }
            """);
        await dovecot.AppendAsync([Mail("Refused")]);
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, Mailbox(dovecot.Port, dovecot.User, dovecot.Password, data));

        AssertOneLine(result, MailServerExit, "post", "create");
    }

    [Fact]
    public async Task Run_BrokenAppsettingsJson_OneLineNamingTheFile_Exit3()
    {
        var dir = CliProcess.TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(dir, "appsettings.json"), "{ \"SmartMail\": { \"MaxAttempts\": 3, } ",
            TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir, "run");

        AssertOneLine(result, ConfigurationExit, "appsettings.json");
    }

    internal static byte[] Mail(string subject) => System.Text.Encoding.UTF8.GetBytes(
        $"From: a@example.org\r\nTo: post@kommune.example\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.org>\r\n\r\nThe space shuttle launch was delayed by the weather at the launch pad.\r\n");

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
