using System.Diagnostics;
using System.Text;

namespace SmartMail.Worker.Processing;

/// <summary>
/// Test-only: makes a chosen mail kill the worker process during extraction, as a mail that crashes a parser would, so that
/// the crash guard (<see cref="CrashBisect"/>) is tested against a real poison mail in a real process. Off unless the
/// environment variable <c>SMARTMAIL_TEST_CRASH_MARKER</c> holds a marker of at least 32 characters; then a mail whose bytes
/// contain the marker kills the process (SIGKILL to itself) when it is extracted. Read once at start; costs nothing when off.
/// </summary>
internal static class CrashTestHook
{
    /// <summary>The environment variable that turns the hook on.</summary>
    public const string Variable = "SMARTMAIL_TEST_CRASH_MARKER";

    private static readonly byte[]? Marker =
        Environment.GetEnvironmentVariable(Variable) is { Length: >= 32 } marker ? Encoding.ASCII.GetBytes(marker) : null;

    /// <summary>Kills the process when the hook is on and <paramref name="raw"/> carries the marker.</summary>
    /// <param name="raw">The mail about to be extracted.</param>
    public static void BeforeExtract(byte[] raw)
    {
        if (Marker is not null && raw.AsSpan().IndexOf(Marker) >= 0)
        {
            using var self = Process.GetCurrentProcess();
            self.Kill();
        }
    }
}
