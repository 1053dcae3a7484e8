using System.Diagnostics;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Finds the dovecot and doveadm binaries, installing the Debian package dovecot-imapd (apt-get) once per test run when
/// they are missing and the tests run as root. Says why not when it cannot, so that the test skips with that reason.
/// </summary>
internal static class DovecotInstall
{
    private static readonly Lazy<Task<(Binaries?, string)>> Found = new(FindOrInstallAsync);

    /// <summary>The binaries, or null and what is missing.</summary>
    public static Task<(Binaries? Binaries, string WhyNot)> EnsureAsync() => Found.Value;

    internal sealed record Binaries(string Dovecot, string Doveadm);

    private static async Task<(Binaries?, string)> FindOrInstallAsync()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return (null, "IMAP integration tests start a real Dovecot on 127.0.0.1 and need Linux and root (as in CI: .ci/run).");
        }
        if (Find() is { } found)
        {
            return (found, "");
        }
        if (FindOnPath("apt-get") is not { } aptGet)
        {
            return (null, "IMAP integration tests need Dovecot: install the package dovecot-imapd (apt-get is not available here to do it).");
        }
        // Another process (a second test run, a helper's .ci/run) may hold the dpkg lock: wait for it rather than fail.
        var update = await RunAsync(aptGet, "-qq", "-o", "DPkg::Lock::Timeout=600", "update");
        var install = await RunAsync(aptGet, "install", "-y", "-qq", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600", "dovecot-imapd");
        return Find() is { } installed
            ? (installed, "")
            : (null, $"IMAP integration tests need Dovecot, and 'apt-get install dovecot-imapd' failed: {update.Trim()} {install.Trim()}".Trim());
    }

    private static Binaries? Find() =>
        FindOnPath("dovecot") is { } dovecot && FindOnPath("doveadm") is { } doveadm ? new Binaries(dovecot, doveadm) : null;

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs apt-get quietly; returns what it said on failure (empty on success).</summary>
    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? "" : $"{Path.GetFileName(file)} {args[^1]} exited with {process.ExitCode}: {await stderr} {await stdout}";
    }
}
