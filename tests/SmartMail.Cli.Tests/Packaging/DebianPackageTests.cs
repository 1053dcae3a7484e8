using System.Diagnostics;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Cli.Tests.Packaging;

/// <summary>
/// The Debian package for real, on this machine: deploy/debian/build.sh builds it (one self-contained linux-x64 publish of
/// the worker and the CLI), dpkg installs it, the installed <c>smartmail check</c> signs in to a mailbox on the Dovecot
/// fixture as the package's <c>smartmail</c> user, and dpkg purges it again. Needs root, dpkg and dpkg-deb, and a machine
/// without SmartMail installed; skipped with the reason otherwise. Costs one Release publish (minutes on 2 cores).
/// </summary>
public sealed class DebianPackageTests
{
    [Fact]
    public async Task BuildInstallCheckPurge_PackageInstallsTheDocumentedLayout_CheckSignsInAsTheServiceUser()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Debian packages are built and installed on Linux only.");
        Assert.SkipUnless(Environment.UserName == "root", "installing a package needs root: run the suite as root (CI does).");
        Assert.SkipUnless(File.Exists("/usr/bin/dpkg-deb") && File.Exists("/usr/bin/dpkg"), "dpkg and dpkg-deb are missing (not a Debian machine).");
        Assert.SkipWhen((await RunAsync("dpkg-query", "-W", "smartmail")).ExitCode == 0 || Directory.Exists("/opt/smartmail"),
            "SmartMail is installed on this machine already: the test neither replaces nor purges an installation it did not make.");
        var userExisted = (await RunAsync("getent", "passwd", "smartmail")).ExitCode == 0;
        var dataExisted = Directory.Exists("/var/lib/smartmail");
        var deb = Environment.GetEnvironmentVariable("SMARTMAIL_TEST_DEB") is { Length: > 0 } built ? built : await BuildAsync();
        var contents = (await RunAsync("dpkg-deb", "--contents", deb)).Stdout;
        Assert.Contains("./opt/smartmail/smartmail", contents, StringComparison.Ordinal);
        Assert.Contains("./opt/smartmail/SmartMail.Worker", contents, StringComparison.Ordinal);
        Assert.Contains("./usr/bin/smartmail -> /opt/smartmail/smartmail", contents, StringComparison.Ordinal);
        Assert.Contains("./lib/systemd/system/smartmail.service", contents, StringComparison.Ordinal);
        Assert.Equal("/etc/smartmail/appsettings.json", (await RunAsync("dpkg-deb", "--info", deb, "conffiles")).Stdout.Trim());

        Result purge;
        try
        {
            var install = await RunAsync("dpkg", "-i", deb);
            Assert.True(install.ExitCode == 0, install.ToString());
            Assert.Equal("/opt/smartmail/smartmail", new FileInfo("/usr/bin/smartmail").LinkTarget);
            Assert.Equal(0, (await RunAsync("getent", "passwd", "smartmail")).ExitCode);
            Assert.Equal("700 smartmail:smartmail", (await RunAsync("stat", "-c", "%a %U:%G", "/var/lib/smartmail")).Stdout.Trim());
            Assert.Equal("640 root:smartmail", (await RunAsync("stat", "-c", "%a %U:%G", "/etc/smartmail/appsettings.json")).Stdout.Trim());
            Assert.Contains("ProtectSystem=strict", await File.ReadAllTextAsync("/lib/systemd/system/smartmail.service", TestContext.Current.CancellationToken), StringComparison.Ordinal);

            await using var dovecot = await Dovecot.StartAsync();
            await dovecot.AppendAsync([RunFailureTests.Mail("Packaged")]);
            var before = await dovecot.InventoryAsync();
            var check = await RunAsync("runuser", ["-u", "smartmail", "--", "/usr/bin/smartmail", "check",
                "--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=127.0.0.1", $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
                "--SmartMail:Mailboxes:0:Security=None", "--SmartMail:Mailboxes:0:AllowPlaintext=true",
                $"--SmartMail:Mailboxes:0:Username={dovecot.User}", $"--SmartMail:Mailboxes:0:Password={dovecot.Password}"], workingDirectory: "/etc/smartmail");

            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.Contains("ok    data directory: /var/lib/smartmail: writable", check.Stdout, StringComparison.Ordinal);
            Assert.Contains("ok    model:", check.Stdout, StringComparison.Ordinal);
            Assert.Contains("ok    mailbox 'post': 127.0.0.1:", check.Stdout, StringComparison.Ordinal);
            Assert.Equal(before.Count, (await dovecot.InventoryAsync()).Count);
            Assert.Empty(Directory.GetFileSystemEntries("/var/lib/smartmail"));
        }
        finally
        {
            purge = await RunAsync("dpkg", "--purge", "smartmail");
            // The data directory and its user outlive a purge on purpose; this test made them, so it removes them.
            if (!dataExisted && Directory.Exists("/var/lib/smartmail"))
            {
                Directory.Delete("/var/lib/smartmail", recursive: true);
            }
            if (!userExisted)
            {
                await RunAsync("userdel", "smartmail");
            }
        }

        Assert.True(purge.ExitCode == 0, purge.ToString());
        Assert.Contains("kept /var/lib/smartmail", purge.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists("/opt/smartmail"));
        Assert.False(File.Exists("/usr/bin/smartmail"));
        Assert.False(Directory.Exists("/etc/smartmail"));
    }

    // deploy/debian/build.sh, as an operator runs it. SMARTMAIL_TEST_DEB names a package built before (by that script, from
    // this commit) to test without publishing again, e.g. when CI builds the package in a step of its own.
    private static async Task<string> BuildAsync()
    {
        var output = CliProcess.TempDirectory();
        var build = await RunAsync(Path.Combine(CliProcess.RepositoryRoot, "deploy", "debian", "build.sh"), "--out", output);
        Assert.True(build.ExitCode == 0, build.ToString());
        return Assert.Single(Directory.GetFiles(output, "smartmail_*_amd64.deb"));
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    private static Task<Result> RunAsync(string program, params string[] args) => RunAsync(program, args, null);

    private static async Task<Result> RunAsync(string program, string[] args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SMARTMAIL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(60)); // a hang guard: two Release publishes take ~20 min on a loaded 2-core machine
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
