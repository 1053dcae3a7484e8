using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Health;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// A real Dovecot behind a <see cref="FaultProxy"/>, a real SQLite ledger and an in-process <see cref="ImapWorker"/>
/// that reaches the server only through the proxy; optional SMTP and webhook receivers for the routing table.
/// </summary>
internal sealed class FaultRig : IAsyncDisposable
{
    private readonly List<ImapWorker> _workers = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    private FaultRig(Dovecot dovecot, FaultProxy proxy, string dataDirectory, string modelPath, Core.Classification.ModelBundle model,
        ITestOutputHelper output)
    {
        Dovecot = dovecot;
        Proxy = proxy;
        Options = new SmartMailOptions { DataDirectory = dataDirectory, ModelPath = modelPath };
        Mailbox = dovecot.Options("faults");
        Mailbox.Port = proxy.Port;
        Policy = new RoutingPolicy([], model);
        Log = new LineLog(output);
        StorePath = Path.Combine(dataDirectory, "state.db");
    }

    public Dovecot Dovecot { get; }

    public FaultProxy Proxy { get; }

    public SmartMailOptions Options { get; }

    /// <summary>The worker's mailbox settings (through the proxy); change them before <see cref="StartWorkerAsync"/>.</summary>
    public ImapMailboxOptions Mailbox { get; }

    public RoutingPolicy Policy { get; }

    public LineLog Log { get; }

    public string StorePath { get; }

    public SqliteStateStore? Store { get; private set; }

    public WorkerHealth Health { get; } = new();

    public RecordingLifetime Lifetime { get; } = new();

    public SmtpReceiver? Smtp { get; set; }

    public HttpReceiver? Webhook { get; set; }

    /// <summary>The fingerprints of every mail appended through <see cref="AppendAsync"/>.</summary>
    public List<string> Appended { get; } = [];

    public static async Task<FaultRig> StartAsync(IntegrationTestContext context)
    {
        var dovecot = await Dovecot.StartAsync();
        return new FaultRig(dovecot, FaultProxy.Start(dovecot.Port), context.DataDirectory, context.Model.ModelPath, context.Model.Bundle, context.Output);
    }

    /// <summary>Appends mails straight to Dovecot (not through the proxy), as a mail server delivering would.</summary>
    public async Task AppendAsync(IEnumerable<string> mails)
    {
        var raw = mails.Select(m => System.Text.Encoding.UTF8.GetBytes(m)).ToList();
        await Dovecot.AppendAsync(raw);
        // Dovecot stores what MimeKit writes, which may differ from our bytes: fingerprint what the server holds.
        lock (Appended)
        {
            Appended.AddRange(raw.Select(r =>
            {
                using var message = MimeMessage.Load(new MemoryStream(r));
                using var buffer = new MemoryStream();
                var format = FormatOptions.Default.Clone();
                format.NewLineFormat = NewLineFormat.Dos;
                format.EnsureNewLine = true;
                message.WriteTo(format, buffer);
                return MailExtractor.Fingerprint(buffer.ToArray());
            }));
        }
    }

    /// <summary>Starts an in-process worker on a fresh store over the same ledger file.</summary>
    public async Task<ImapWorker> StartWorkerAsync(CancellationToken cancellationToken)
    {
        Store?.Dispose();
        Store = new SqliteStateStore(StorePath);
        var store = Store;
        var client = _http;
        var worker = new ImapWorker(Mailbox, mailbox =>
        {
            RoutingSink? routes = null;
            routes = new RoutingSink(Options, mailbox, new FolderJournalSink(Options.JournalPath),
                Options.Smtp is { } smtp ? () => new SmtpForwardSink(smtp, d => routes!.AddressOf(d)) : null,
                () => new WebhookSink(client, Options.Webhook, d => routes!.UrlOf(d)));
            return new MailProcessor(store, () => Policy, new MailExtractor(), routes, Options, TimeProvider.System, Log, new WorkerMetrics(), health: Health);
        }, store, TimeProvider.System, Lifetime, Log, Health);
        _workers.Add(worker);
        await worker.StartAsync(cancellationToken);
        return worker;
    }

    public int Acknowledged => Store?.CountByState().GetValueOrDefault(MailState.Acknowledged) ?? 0;

    /// <summary>Waits until <paramref name="condition"/> holds; fails after <paramref name="timeout"/>. Returns the time it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, $"{what}: not within {timeout}");
            await Task.Delay(50);
        }
        return stopwatch.Elapsed;
    }

    /// <summary>Stops the workers and counts where every appended mail ended up.</summary>
    public async Task<Tally> StopAndTallyAsync(CancellationToken cancellationToken)
    {
        foreach (var worker in _workers)
        {
            await worker.StopAsync(cancellationToken);
        }
        return await Tally.TakeAsync(this);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.StopAsync(CancellationToken.None);
            worker.Dispose();
        }
        Store?.Dispose();
        _http.Dispose();
        if (Smtp is not null)
        {
            await Smtp.DisposeAsync();
        }
        Webhook?.Dispose();
        await Proxy.DisposeAsync();
        await Dovecot.DisposeAsync();
    }
}

/// <summary>What an integration test hands the rig.</summary>
internal sealed record IntegrationTestContext(string DataDirectory, DefaultModelFixture Model, ITestOutputHelper Output);

/// <summary>
/// Where every appended mail ended up, counted by fingerprint: its destinations are the IMAP folders other than the watched
/// and the processed folder, plus every SMTP forward and every webhook post answered 2xx. Nothing lost: each has at least one;
/// nothing doubled: none has two, and no message is twice on the server.
/// </summary>
internal sealed record Tally(int Mails, int Lost, int Duplicated, int Quarantined, int LeftInInbox, IReadOnlyList<string> Problems)
{
    public static async Task<Tally> TakeAsync(FaultRig rig)
    {
        var inventory = await rig.Dovecot.InventoryAsync();
        using var store = new SqliteStateStore(rig.StorePath);
        var audit = store.ReadAudit();
        var fingerprintOf = audit.GroupBy(a => a.DecisionId).ToDictionary(g => g.Key, g => g.First().Fingerprint);
        var destinations = new List<(string Fingerprint, string Where)>();
        destinations.AddRange(inventory.Where(m => m.Folder != "INBOX" && m.Folder != rig.Mailbox.ProcessedFolder)
            .Select(m => (m.Fingerprint, "imap:" + m.Folder)));
        foreach (var mail in rig.Smtp?.Received ?? new ConcurrentQueue<ReceivedMail>())
        {
            var id = MimeMessage.Load(new MemoryStream(mail.Raw)).Headers["X-SmartMail-Decision-Id"] ?? "none";
            destinations.Add((fingerprintOf.GetValueOrDefault(id) ?? "unknown:" + id, "smtp"));
        }
        foreach (var (request, status) in rig.Webhook?.Answered ?? new ConcurrentQueue<(ReceivedRequest, int)>())
        {
            if (status is >= 200 and <= 299)
            {
                using var body = JsonDocument.Parse(request.Body);
                destinations.Add((body.RootElement.GetProperty("message").GetProperty("fingerprint").GetString()!, "webhook"));
            }
        }

        List<string> appended;
        lock (rig.Appended)
        {
            appended = [.. rig.Appended];
        }
        var byFingerprint = destinations.ToLookup(d => d.Fingerprint, d => d.Where);
        var problems = new List<string>();
        var lost = appended.Count(f => !byFingerprint[f].Any());
        var duplicated = appended.Sum(f => Math.Max(0, byFingerprint[f].Count() - 1))
            + inventory.GroupBy(m => m.Fingerprint).Sum(g => g.Count() - 1);
        problems.AddRange(appended.Where(f => byFingerprint[f].Count() > 1).Select(f => $"{f[..12]} delivered to {string.Join(", ", byFingerprint[f])}"));
        problems.AddRange(destinations.Where(d => !appended.Contains(d.Fingerprint)).Select(d => $"{d.Fingerprint[..12]} delivered to {d.Where} was never appended"));

        // The ledger agrees: one decision per mail, every mail acknowledged, each folder route where its decision says.
        var decisions = audit.Where(a => a.Outcome is "routed" or "manual" or "quarantined").ToList();
        foreach (var f in appended.Where(f => decisions.Count(d => d.Fingerprint == f) != 1))
        {
            problems.Add($"{f[..12]} has {decisions.Count(d => d.Fingerprint == f)} decisions in the audit trail");
        }
        var states = store.CountByState();
        if (states.GetValueOrDefault(MailState.Acknowledged) != states.Values.Sum())
        {
            problems.Add("ledger rows not acknowledged: " + string.Join(", ", states.Select(s => $"{s.Key}={s.Value}")));
        }
        foreach (var d in decisions)
        {
            var folders = byFingerprint[d.Fingerprint].Where(w => w.StartsWith("imap:", StringComparison.Ordinal)).ToList();
            var expected = "imap:" + FolderJournalSink.SafeName(d.Destination).Replace('.', '_');
            if (folders.Count > 0 && !folders.Contains(expected))
            {
                problems.Add($"{d.Fingerprint[..12]} decided for {d.Destination} but is in {string.Join(", ", folders)}");
            }
        }
        var left = inventory.Count(m => m.Folder == "INBOX");
        return new Tally(appended.Count, lost, duplicated, decisions.Count(d => d.Outcome == "quarantined"), left, problems);
    }

    public void AssertExactlyOnce()
    {
        Assert.True(Problems.Count == 0, string.Join("\n", Problems));
        Assert.Equal((0, 0, 0), (Lost, Duplicated, LeftInInbox));
    }

    public override string ToString() =>
        $"{Mails} mails: {Lost} lost, {Duplicated} duplicated, {Quarantined} quarantined, {LeftInInbox} left in INBOX";
}

/// <summary>A logger that writes every line to the test output and keeps it.</summary>
internal sealed class LineLog(ITestOutputHelper output) : ILogger<ImapWorker>
{
    private readonly ConcurrentQueue<(LogLevel Level, string Line)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Line)> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}";
        _lines.Enqueue((logLevel, line));
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }
}

/// <summary>A host lifetime that records whether the worker asked the application to stop.</summary>
internal sealed class RecordingLifetime : Microsoft.Extensions.Hosting.IHostApplicationLifetime
{
    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => CancellationToken.None;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public bool StopRequested { get; private set; }

    public void StopApplication() => StopRequested = true;
}
