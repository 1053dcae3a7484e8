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
        var mails = CprMails().ToList();
        Assert.All(mails, m => Assert.True(Leaks(m.File + m.Raw) || m.Raw.Contains("=?utf-8?B?", StringComparison.Ordinal), m.File));

        await RunHostAndAssertNoLeakAsync(mails, level);
    }

    /// <summary>
    /// Every spelling of <see cref="CprCorpus"/> in a mail of its own, in the subject, body, HTML, an attachment's name,
    /// headers, the From display name or the drop-folder file name (and always in the body too), through the real host at
    /// Trace: no store or sink keeps one, the learning examples included.
    /// </summary>
    [Fact]
    public async Task Host_CorpusOfCprSpellings_TraceLogging_NoCprInAnyStoreOrSink()
    {
        var mails = CorpusMails().ToList();
        Assert.True(mails.Count >= 30);
        Assert.All(mails, m => Assert.True(Leaks(m.File + Decoded(m.Raw)), m.File));

        var db = await RunHostAndAssertNoLeakAsync(mails, "Trace");

        var examples = LedgerQuery.Rows(db, "SELECT * FROM example");
        Assert.Equal(mails.Count, examples.Count);
        Assert.Contains(examples, e => e.Contains(Cpr.Placeholder, StringComparison.Ordinal));
    }

    private static IEnumerable<(string File, string Raw)> CorpusMails()
    {
        for (var i = 0; i < CprCorpus.Spellings.Count; i++)
        {
            var cpr = CprCorpus.Spellings[i];
            var file = $"corpus-{i:00}.eml";
            var body = $"Hej, mit CPR-nummer er {cpr}. Venlig hilsen";
            yield return (i % 8) switch
            {
                0 => (file, Eml($"Subject: {Encoded($"Sag vedr. {cpr}")}", "text/plain", body)),
                1 => (file, Eml($"Subject: Ansøgning {cpr}", "text/plain", body)), // raw UTF-8 header
                2 => (file, Eml("Subject: Ansøgning", "text/html",
                    $"<html><body><p>CPR:&nbsp;<b>{Html(cpr)}</b></p><table><tr><td>{cpr}</td></tr></table><p>{body}</p></body></html>")),
                3 => (file,
                    "Subject: Bilag\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                    $"{body}\r\n--b\r\nContent-Type: application/pdf; name=\"{Encoded($"attest {cpr}.pdf")}\"\r\n" +
                    $"Content-Disposition: attachment; filename*=utf-8''{Uri.EscapeDataString($"attest {cpr}.pdf")}\r\n" +
                    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"),
                4 => (file, Eml(
                    $"Reply-To: {Encoded(cpr)} <svar@example.dk>\r\nX-Sagsnummer: {Encoded(cpr)}\r\nX-Cpr: {cpr}\r\n" +
                    (cpr.All(c => c is > ' ' and < '\u007F') ? $"Message-ID: <{cpr}@borger.example.dk>\r\n" : "") + "Subject: Min sag",
                    "text/plain", body)),
                5 => (file, Eml($"From: {Encoded($"Borger {cpr}")} <borger@example.dk>\r\nSubject: Henvendelse", "text/plain", body)),
                6 => (cpr.Contains('/', StringComparison.Ordinal) || cpr.Contains('\t', StringComparison.Ordinal) ? file : $"borger {cpr}.eml",
                    Eml("Subject: Filnavnet", "text/plain", body)),
                _ => (file, $"Subject: {Encoded(cpr)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(body), Base64FormattingOptions.InsertLineBreaks) + "\r\n"),
            };
        }
    }

    private static string Encoded(string text) => $"=?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(text))}?=";

    private static string Html(string text) =>
        string.Concat(text.Select(c => c < '\u007F' ? c.ToString() : $"&#x{(int)c:X};"));

    // The mail as a reader sees it: encoded words and base64 bodies decoded (for the test's own sanity check).
    private static string Decoded(string raw)
    {
        var message = MimeKit.MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
        return string.Join("\n", message.Headers.Select(h => h.Value).Append(message.TextBody ?? "").Append(message.HtmlBody ?? "")
            .Concat(message.Attachments.Select(a => a.ContentDisposition?.FileName ?? "")));
    }

    private async Task<string> RunHostAndAssertNoLeakAsync(List<(string File, string Raw)> mails, string level)
    {
        var ct = TestContext.Current.CancellationToken;
        var inbox = Directory.CreateDirectory(Path.Combine(Data.FullName, "inbox")).FullName;
        foreach (var (file, raw) in mails)
        {
            File.WriteAllText(Path.Combine(inbox, file), raw);
        }
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
            "--SmartMail:Web:Url=http://127.0.0.1:0", // the web app on a free port, not the default 5080 (issue 24)
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

        Assert.Contains(logs.Lines, l => l.StartsWith("Debug", StringComparison.Ordinal)); // nothing in the worker logs at Trace yet
        AssertNoCpr("log", logs.Lines);
        AssertNoCpr("audit table", LedgerQuery.Rows(db, "SELECT * FROM audit"));
        AssertNoCpr("ledger", LedgerQuery.Rows(db, "SELECT * FROM mail"));
        AssertNoCpr("example store", LedgerQuery.Rows(db, "SELECT * FROM example"));
        AssertNoCpr("correction store", LedgerQuery.Rows(db, "SELECT * FROM correction"));
        AssertNoCpr("audit.jsonl", File.ReadAllLines(Path.Combine(Data.FullName, "audit.jsonl")));
        var decisions = Directory.GetFiles(Path.Combine(Data.FullName, "journal"), "*.json", SearchOption.AllDirectories);
        Assert.Equal(mails.Count, decisions.Length);
        AssertNoCpr("decision file", decisions.Select(File.ReadAllText));
        AssertNoCpr("journal file name", Directory.GetFiles(Path.Combine(Data.FullName, "journal"), "*", SearchOption.AllDirectories));
        Assert.NotEmpty(tags);
        AssertNoCpr("metric", tags);
        // The journal keeps each original untouched: the case system is where personal data belongs.
        Assert.Contains(Directory.GetFiles(Path.Combine(Data.FullName, "journal"), "*.eml", SearchOption.AllDirectories), f => Leaks(File.ReadAllText(f)));
        return db;
    }

    // A leak is one of the mails' own numbers, in any written form (hex ids can hold a ten-digit run that is a valid
    // date, e.g. "sm-03f1108603115a…", 11 August 1960). The check does not rely on the detector under test.
    private static bool Leaks(string text) => CprCorpus.Leaks(text);

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
