using System.Globalization;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// One result line per scenario run, to the test output and, when <c>SMARTMAIL_FAULTS_REPORT</c> names a file, appended
/// to it as a tab-separated row (scenario, mails, lost, duplicated, quarantined, recovery ms): the numbers of docs/reliability.md.
/// </summary>
internal static class FaultReport
{
    private static readonly Lock Gate = new();

    public static void Write(ITestOutputHelper output, string scenario, Tally tally, TimeSpan recovery)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tally);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{scenario}\t{tally.Mails}\t{tally.Lost}\t{tally.Duplicated}\t{tally.Quarantined}\t{recovery.TotalMilliseconds:F0}");
        output.WriteLine($"RESULT {scenario}: {tally}; recovered in {recovery.TotalMilliseconds:F0} ms");
        if (Environment.GetEnvironmentVariable("SMARTMAIL_FAULTS_REPORT") is { Length: > 0 } file)
        {
            lock (Gate)
            {
                File.AppendAllText(file, line + "\n");
            }
        }
    }
}
