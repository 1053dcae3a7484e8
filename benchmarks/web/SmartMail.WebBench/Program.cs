using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SmartMail.Core.Classification;
using SmartMail.Web;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.State;

// The web app's data at scale. `seed DATA_DIR MODEL COUNT` fills DATA_DIR/state.db through the store's own API (the
// ledger's Begin/Decide/Deliver/Acknowledge with the web app's summary, the example store's text and corrections) with
// COUNT realistic decisions over the last 30 days; `queries DATA_DIR MODEL` times each IOversightQueries call a page makes
// (20 runs each, after one warm-up) and prints p50/p95 in milliseconds.
if (args.Length < 3 || args[0] is not ("seed" or "queries"))
{
    Console.Error.WriteLine("usage: SmartMail.WebBench seed DATA_DIR MODEL [COUNT=100000] | queries DATA_DIR MODEL");
    return 2;
}
var data = Path.GetFullPath(args[1]);
using var model = ModelBundle.Load(args[2]);
var options = new SmartMailOptions { DataDirectory = data, ModelPath = Path.GetFullPath(args[2]) };
var statePath = Path.Combine(data, "state.db");
using var store = new SqliteStateStore(statePath);
using var examples = new ExampleStore(statePath);
if (args[0] == "seed")
{
    var count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100_000;
    var watch = Stopwatch.StartNew();
    Seeder.Seed(store, examples, model, count);
    Console.WriteLine($"seeded {count} decisions in {watch.Elapsed.TotalSeconds:F1} s into {statePath} ({new FileInfo(statePath).Length / 1024 / 1024} MB)");
    return 0;
}
var queries = new OversightQueries(store, examples, options, () => model, null, TimeProvider.System);
var mailbox = queries.Mailboxes()[0];
var someId = queries.FindMail(new MailQuery([mailbox]), 5000, 1).Items[0].DecisionId;
var triageId = queries.TriageQueue(mailbox, 0, 1).Items[0].DecisionId;
var cases = new (string Page, string Call, Action Run)[]
{
    ("/", "GetStatus(24 h)", () => queries.GetStatus(mailbox, DateTimeOffset.UtcNow.AddHours(-24))),
    ("/", "GetStatus(7 days)", () => queries.GetStatus(mailbox, DateTimeOffset.UtcNow.AddDays(-7))),
    ("/triage", "TriageQueue(page 1 of 50)", () => queries.TriageQueue(mailbox, 0, 50)),
    ("/triage", "TriageQueue(page 20 of 50)", () => queries.TriageQueue(mailbox, 950, 50)),
    ("/triage", "GetMail + GetText (top-3, why)", () => { queries.GetMail(triageId); queries.GetText(triageId); }),
    ("/search", "FindMail(no filter)", () => queries.FindMail(new MailQuery([mailbox]), 0, 50)),
    ("/search", "FindMail(sender part)", () => queries.FindMail(new MailQuery([mailbox], Sender: "borger12"), 0, 50)),
    ("/search", "FindMail(subject part)", () => queries.FindMail(new MailQuery([mailbox], Subject: "boligstøtte 77"), 0, 50)),
    ("/search", "FindMail(decision id prefix)", () => queries.FindMail(new MailQuery([mailbox], DecisionId: someId[..10]), 0, 50)),
    ("/search", "FindMail(date range, one day)", () => queries.FindMail(new MailQuery([mailbox], From: DateTimeOffset.UtcNow.AddDays(-3), To: DateTimeOffset.UtcNow.AddDays(-2)), 0, 50)),
    ("/mail/{id}", "GetMail + GetText", () => { queries.GetMail(someId); queries.GetText(someId); }),
    ("/labels", "LabelPrecisions + ThresholdChanges + CurrentModelCurve", () => { queries.LabelPrecisions(); queries.ThresholdChanges(50); queries.CurrentModelCurve(); }),
    ("/labels", "LabelPrecisions uncached (counted once a minute)", () => new OversightQueries(store, examples, options, () => model, null, TimeProvider.System).LabelPrecisions()),
    ("/models", "Models", () => queries.Models()),
    ("/quarantine", "Quarantine(all, page 1)", () => queries.Quarantine(null, 0, 50)),
};
Console.WriteLine($"{queries.FindMail(new MailQuery([mailbox]), 0, 1).Total} decisions in {statePath}; 20 runs each after a warm-up; milliseconds");
Console.WriteLine("| page | call | p50 ms | p95 ms | max ms |");
Console.WriteLine("|---|---|---:|---:|---:|");
foreach (var (page, call, run) in cases)
{
    run();
    var times = new List<double>();
    for (var i = 0; i < 20; i++)
    {
        var t = Stopwatch.GetTimestamp();
        run();
        times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
    }
    times.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {page} | {call} | {times[9]:F1} | {times[18]:F1} | {times[19]:F1} |"));
}
return 0;

/// <summary>Realistic decisions, written as the worker writes them.</summary>
internal static class Seeder
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string[] Words = ["ansøgning", "boligstøtte", "skat", "skole", "affald", "parkering", "byggetilladelse", "pension",
        "sygedagpenge", "handicap", "vej", "klage", "faktura", "aktindsigt", "flytning", "børnehave"];

    public static void Seed(SqliteStateStore store, ExampleStore examples, ModelBundle model, int count)
    {
        var random = new Random(17);
        var labels = model.Model.Labels;
        var version = model.Manifest.ModelVersion;
        var end = DateTimeOffset.UtcNow;
        var start = end.AddDays(-30);
        const int Batch = 1000;
        var corrections = 0;
        for (var first = 0; first < count; first += Batch)
        {
            var n = Math.Min(Batch, count - first);
            var seen = start + ((end - start) * ((double)first / count));
            var mails = new List<(MailKey Key, string Fingerprint, string DecisionId)>(n);
            var decisions = new List<DecisionToRecord>(n);
            var texts = new List<NewExample>(n);
            var routedByModel = new List<(MailKey Key, string Fingerprint, string DecisionId, string Label)>();
            for (var i = 0; i < n; i++)
            {
                var k = first + i;
                var fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(k)));
                var id = SmartMail.Worker.Processing.MailProcessor.DecisionIdFor("drop", fingerprint);
                var key = new MailKey("drop", "inbox", 0, $"{k:D7}.eml");
                mails.Add((key, fingerprint, id));
                var roll = random.NextDouble();
                var (source, outcome, label, destination) = roll switch
                {
                    < 0.70 => ("model", "routed", labels[random.Next(labels.Count)], (string?)null),
                    < 0.75 => ("rule", "routed", labels[random.Next(labels.Count)], null),
                    < 0.99 => ("manual", "triage", null, "_manual-triage"),
                    _ => ("quarantine", "quarantined", null, "_quarantine"),
                };
                destination ??= label!;
                var confidence = source == "model" ? 0.6f + (0.4f * (float)random.NextDouble()) : source == "manual" ? 0.2f + (0.4f * (float)random.NextDouble()) : (float?)null;
                var top = confidence is { } c
                    ? labels.OrderBy(_ => random.Next()).Take(3).Select((l, j) => new LabelScore(j == 0 && label is not null ? label : l, c / (j + 1))).ToArray()
                    : [];
                var subject = $"{Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]} {k}";
                var sender = $"borger{random.Next(20_000)}@example.dk";
                var body = $"Hej, jeg skriver om min {Words[random.Next(Words.Length)]} og min {Words[random.Next(Words.Length)]}. Venlig hilsen ({k})";
                var json = JsonSerializer.Serialize(new
                {
                    decisionId = id, mailbox = "drop", fingerprint, source, label, confidence, top, threshold = confidence is null ? (float?)null : 0.7f,
                    modelVersion = source is "model" or "manual" ? version : null, reason = $"{source} decision", destination,
                }, Json);
                var time = seen.AddMilliseconds(i * 40);
                decisions.Add(new DecisionToRecord(key, destination, json, new AuditEntry
                {
                    Time = time, DecisionId = id, Fingerprint = fingerprint, Mailbox = "drop", Source = source, Label = label, Confidence = confidence,
                    ModelVersion = version, Reason = $"{source} decision", Destination = destination, Outcome = outcome == "triage" ? "manual" : outcome,
                })
                {
                    Summary = new SummaryToRecord(subject, sender, time.AddMinutes(-random.Next(1, 600)), source, label, confidence, version, outcome),
                });
                texts.Add(new NewExample("drop", fingerprint, id, label, version, new TextInput(subject, body), null));
                if (source == "model")
                {
                    routedByModel.Add((key, fingerprint, id, label!));
                }
            }
            store.Ledger.Begin(mails, seen);
            store.Ledger.Decide(decisions);
            examples.SaveDecided(texts, seen);
            // Delivered in small groups a few hundred milliseconds apart (the latency the status page shows).
            foreach (var group in mails.Chunk(50))
            {
                var delivered = seen.AddMilliseconds(100 + random.Next(2000));
                store.Ledger.Deliver(group.Select(m => m.Key), delivered);
                store.Ledger.Acknowledge(group.Select(m => m.Key), delivered);
            }
            // About 3 % of the model's routes corrected by a caseworker.
            foreach (var (key, fingerprint, id, label) in routedByModel.Where(_ => random.NextDouble() < 0.03))
            {
                var to = labels[random.Next(labels.Count)];
                if (to != label)
                {
                    examples.Correct(new Correction(seen.AddHours(2), "drop", fingerprint, id, label, label, to, label, "seeded caseworker", "imap", version), null);
                    corrections++;
                }
            }
        }
        Console.WriteLine($"{corrections} corrections");
    }
}
