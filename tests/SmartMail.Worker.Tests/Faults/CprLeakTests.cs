using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// The real host (configuration, DI, logging providers, metrics) over the drop-folder inbox with Debug and Trace logging,
/// fed mails full of CPR numbers in every form and place. Extends <c>MailProcessorTests.Drain_MailFullOfCprNumbers…</c>
/// (the processor alone, one mail) to everything the host writes: every log line of every category, the audit table,
/// audit.jsonl, the ledger's decision and error columns, the journal's decision files and every metric tag.
/// </summary>
public sealed class CprLeakTests(DefaultModelFixture model) : IntegrationTest(model)
{
    // Valid CPR numbers (real dates, with and without modulus 11) in every written form.
    private const string Dash = "010190-1234";
    private const string Plain = "0101901234";
    private const string Space = "311299 4321";
    private const string EnDash = "290200\u20134234";

    private static IEnumerable<(string File, string Raw)> CprMails()
    {
        yield return ("cpr-heavy.eml", Mails.CprHeavy.Replace("\n", "\r\n", StringComparison.Ordinal));
        yield return ("subject-plain.eml", Eml($"Subject: CPR {Dash}, {Plain}, {Space}", "text/plain", "Se emnet."));
        yield return ("subject-base64.eml", Eml($"Subject: =?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes($"Mit CPR {EnDash}"))}?=", "text/plain", "Se emnet."));
        yield return ("headers.eml", Eml(
            $"From: \"Borger {Plain}\" <borger@example.dk>\r\nReply-To: \"{Dash}\" <svar@example.dk>\r\nX-Sagsnummer: {Space}\r\n" +
            $"Message-ID: <{Dash}@borger.example.dk>\r\nIn-Reply-To: <{Plain}@kommune.example.dk>\r\nSubject: Min sag",
            "text/plain", "Hej, se mine oplysninger i felterne."));
        yield return ("html.eml", Eml("Subject: Ansøgning", "text/html",
            $"<html><body><p>CPR: <b>{Dash}</b></p><table><tr><td>{Plain}</td></tr></table><!-- {Space} --><a href=\"https://x.example/?cpr={Plain}\">link</a></body></html>"));
        yield return ("filenames.eml",
            "Subject: Bilag\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe bilag.\r\n" +
            $"--b\r\nContent-Type: application/pdf; name=\"attest {Dash}.pdf\"\r\nContent-Disposition: attachment; filename*=utf-8''attest%20{Plain}.pdf\r\n" +
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n");
        yield return ($"borger {Dash}.eml", Eml("Subject: Filnavnet", "text/plain", $"Kropstekst med {Space} og {EnDash} og {Plain}."));
        yield return ("not-mime.eml", $"{Dash} is no header\r\n\r\n{Plain}\r\n");
    }

    private static string Eml(string headers, string type, string body) =>
        $"{headers}\r\nContent-Type: {type}; charset=utf-8\r\n\r\n{body}\r\n";

    [Theory]
    [InlineData("Debug")]
    [InlineData("Trace")]
    public async Task Host_MailsFullOfCprNumbers_VerboseLogging_NoCprInLogsAuditDecisionsOrMetrics(string level)
    {
        var ct = TestContext.Current.CancellationToken;
        var inbox = Directory.CreateDirectory(Path.Combine(Data.FullName, "inbox")).FullName;
        var mails = CprMails().ToList();
        foreach (var (file, raw) in mails)
        {
            File.WriteAllText(Path.Combine(inbox, file), raw);
        }
        Assert.All(mails, m => Assert.True(Leaks(m.File + m.Raw) || m.Raw.Contains("=?utf-8?B?", StringComparison.Ordinal), m.File));
        var logs = new CapturingLoggerProvider();
        var tags = new ConcurrentQueue<string>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == WorkerMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((i, value, t, _) => Record(tags, i, value, t));
        meters.SetMeasurementEventCallback<double>((i, value, t, _) => Record(tags, i, value, t));
        meters.Start();
        var builder = WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={Model.ModelPath}",
            $"--SmartMail:DataDirectory={Data.FullName}",
            "--SmartMail:PollInterval=00:00:00.200",
            $"--Logging:LogLevel:Default={level}",
            $"--Logging:LogLevel:Microsoft={level}",
        ]);
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(level));
        using var host = builder.Build();

        await host.StartAsync(ct);
        var db = Path.Combine(Data.FullName, "state.db");
        await FaultRig.WaitUntilAsync(() => LedgerQuery.Scalar(db, "SELECT COUNT(*) FROM mail WHERE state = 3") == mails.Count, TimeSpan.FromSeconds(60), "every mail handled");
        await host.StopAsync(ct);

        Assert.Contains(logs.Lines, l => l.StartsWith("Debug", StringComparison.Ordinal));
        AssertNoCpr("log", logs.Lines);
        AssertNoCpr("audit table", LedgerQuery.Rows(db, "SELECT * FROM audit"));
        AssertNoCpr("ledger decision/error", LedgerQuery.Rows(db, "SELECT destination, decision_json, error, marker FROM mail"));
        AssertNoCpr("audit.jsonl", File.ReadAllLines(Path.Combine(Data.FullName, "audit.jsonl")));
        var decisions = Directory.GetFiles(Path.Combine(Data.FullName, "journal"), "*.json", SearchOption.AllDirectories);
        Assert.Equal(mails.Count, decisions.Length);
        AssertNoCpr("decision file", decisions.Select(File.ReadAllText));
        Assert.NotEmpty(tags);
        AssertNoCpr("metric", tags);
        // The journal keeps each original untouched: the case system is where personal data belongs.
        Assert.Contains(Directory.GetFiles(Path.Combine(Data.FullName, "journal"), "*.eml", SearchOption.AllDirectories), f => Leaks(File.ReadAllText(f)));
    }

    // The numbers in the test mails. Hex ids (fingerprints, decision ids) can hold a ten-digit run that is a valid date,
    // e.g. "sm-03f1108603115a…" (11 August 1960): a leak is one of the mails' own numbers, in any written form.
    private static readonly HashSet<string> Known = ["0101901234", "3112994321", "2902004234", "0101151235"];

    private static bool Leaks(string text) =>
        Cpr.FindAll(text).Any(m => Known.Contains(new string([.. text.AsSpan(m.Index, m.Length).ToArray().Where(char.IsAsciiDigit)])));

    private static void AssertNoCpr(string where, IEnumerable<string> texts)
    {
        var leaks = texts.Where(Leaks).ToList();
        Assert.True(leaks.Count == 0, $"CPR numbers in the {where}:\n{string.Join("\n", leaks)}");
    }

    private static void Record<T>(ConcurrentQueue<string> tags, Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> t)
    {
        var text = new StringBuilder(instrument.Name).Append(' ').Append(value);
        foreach (var (key, tag) in t)
        {
            text.Append(' ').Append(key).Append('=').Append(tag);
        }
        tags.Enqueue(text.ToString());
    }

    /// <summary>Keeps every log line of every category, with its exception, as the console or journald would write it.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                lines.Enqueue($"Scope {category}: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{logLevel} {category}[{eventId.Id}]: {formatter(state, exception)} {{{properties}}} {exception}");
            }
        }
    }
}
