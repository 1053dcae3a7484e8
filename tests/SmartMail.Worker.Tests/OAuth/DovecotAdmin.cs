using System.Diagnostics;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary><c>doveadm</c> on a test Dovecot (its own dovecot.conf): who is connected, and kicking the test user's connections.</summary>
internal static class DovecotAdmin
{
    /// <summary>The test user's IMAP connections open now, counted by the server (<c>doveadm who -1</c>: one line per connection).</summary>
    public static async Task<int> ConnectionsAsync(Dovecot dovecot)
    {
        var output = await RunAsync(dovecot, "who", "-1");
        return output.Split('\n').Count(l => l.StartsWith(dovecot.User, StringComparison.Ordinal) && l.Contains("imap", StringComparison.Ordinal));
    }

    /// <summary>The server drops every connection of the test user (<c>doveadm kick</c>), as Exchange Online drops a session.</summary>
    public static Task KickAsync(Dovecot dovecot) => RunAsync(dovecot, "kick", dovecot.User);

    private static async Task<string> RunAsync(Dovecot dovecot, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("doveadm", ["-c", Path.Combine(dovecot.Directory, "dovecot.conf"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output + error;
    }
}
