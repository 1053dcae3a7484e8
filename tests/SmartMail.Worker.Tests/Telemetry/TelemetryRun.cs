using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Tests.Faults;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>
/// The real host on the embedded default (drop-folder inbox → journal, SQLite ledger) with telemetry settings, fed mails
/// whose file names, senders, subjects and bodies carry CPR numbers and e-mail addresses.
/// </summary>
internal static partial class TelemetryRun
{
    // The personal data in the mails: none of it may reach a metric, a span or an export.
    public static readonly string[] Personal = ["010190-1234", "0101901234", "311299-4321", "borger@example.dk", "jens.hansen@kommune.dk", "Jens Hansen"];

    public static IReadOnlyList<(string File, string Raw)> Mails() =>
    [
        ("cpr-heavy.eml", Tests.Mails.CprHeavy.Replace("\n", "\r\n", StringComparison.Ordinal)),
        ("borger 010190-1234.eml", Eml("Jens Hansen <jens.hansen@kommune.dk>", "Ansøgning om boligstøtte 0101901234",
            "Jeg søger boligstøtte. Mit CPR er 311299-4321, skriv til jens.hansen@kommune.dk.")),
        ("jens.hansen@kommune.dk.eml", Eml("\"Borger 010190-1234\" <borger@example.dk>", "Re: min sag",
            "The new graphics card renders OpenGL scenes faster than the old one; the driver update fixed the crash.")),
        ("plain.eml", Eml("someone@example.org", "Baseball season", "The pitcher threw a no-hitter in the ninth inning, and the team won the pennant.")),
    ];

    public static IHost Build(string dataDirectory, string modelPath, params string[] settings) =>
        WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={modelPath}",
            $"--SmartMail:DataDirectory={dataDirectory}",
            "--SmartMail:PollInterval=00:00:00.200",
            "--SmartMail:Web:Enabled=false", // no dependence on the default port 5080 (issue 24)
            .. settings,
        ]).Build();

    /// <summary>Drops the mails, starts <paramref name="host"/> and waits until the ledger has acknowledged every one.</summary>
    public static async Task RouteAllAsync(IHost host, string dataDirectory, CancellationToken cancellationToken)
    {
        var inbox = Directory.CreateDirectory(Path.Combine(dataDirectory, "inbox")).FullName;
        var mails = Mails();
        foreach (var (file, raw) in mails)
        {
            File.WriteAllText(Path.Combine(inbox, file), raw);
        }
        await host.StartAsync(cancellationToken);
        var db = Path.Combine(dataDirectory, "state.db");
        await FaultRig.WaitUntilAsync(() => File.Exists(db) && LedgerQuery.Scalar(db, "SELECT COUNT(*) FROM mail WHERE state = 3") == mails.Count,
            TimeSpan.FromSeconds(60), "every mail acknowledged");
    }

    /// <summary>Whether <paramref name="text"/> holds a CPR number, an e-mail address or a piece of the mails' personal data.</summary>
    public static bool HasPersonalData(string text) =>
        Cpr.ContainsAny(text) || Email().IsMatch(text) || Personal.Any(p => text.Contains(p, StringComparison.OrdinalIgnoreCase));

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    private static string Eml(string from, string subject, string body) =>
        $"From: {from}\r\nTo: post@kommune.dk\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.org>\r\n" +
        $"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n";
}
