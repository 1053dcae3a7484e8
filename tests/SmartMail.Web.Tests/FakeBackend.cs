using System.Collections.Concurrent;
using SmartMail.Web;

namespace SmartMail.Web.Tests;

/// <summary>
/// An in-memory stand-in for the worker's queries and actions: mailboxes A (25 mails in triage, one routed) and B (one in
/// triage), a quarantined mail in A, two models. It records every action with who asked and the largest page asked for.
/// </summary>
internal sealed class FakeBackend : IOversightQueries, IMailActions, IAccessAudit
{
    public const string CprNumber = "010190-1234";
    public const string SecretOfB = "Bevilling til Bodil";
    public const string SenderOfB = "bodil@example.dk";

    private readonly List<MailDetail> _mails = [];
    private readonly Dictionary<string, MailText> _texts = [];
    private readonly Dictionary<string, MailDetail> _byId = [];
    private readonly Dictionary<(string Mailbox, string State), List<MailSummary>> _byState = [];
    private int _largestTake;

    public FakeBackend(int routedInA = 0)
    {
        var start = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        for (var i = 1; i <= 25; i++)
        {
            Add($"a{i:D2}-0000-0000", "A", $"Ansøgning nummer {i}", $"borger{i}@example.dk", start.AddMinutes(i), "manual", null, "triage",
                $"Hej, jeg søger om boligstøtte. Mit CPR-nummer er {CprNumber}. Mvh borger {i}");
        }
        Add("aroute00-0000-0000", "A", "Byggetilladelse carport", "anders@example.dk", start, "model", "Byg", "routed", "Vedlagt tegninger af carporten.");
        Add("aquar000-0000-0000", "A", "Ulæselig", "x@example.dk", start, "quarantine", null, "quarantined", "?");
        Add("b0000001-0000-0000", "B", SecretOfB, SenderOfB, start, "manual", null, "triage", "Fortroligt indhold i postkasse B.");
        for (var i = 0; i < routedInA; i++)
        {
            Add($"r{i:D7}-0000-0000", "A", $"Henvendelse {i}", $"borger{i}@example.dk", start.AddSeconds(-i), "model", "Byg", "routed", "Tekst.");
        }
        _texts["a01-0000-0000"] = _texts["a01-0000-0000"] with { Attachments = [$"attest_{CprNumber}.pdf", "skema fra borger1@example.dk (kopi).pdf"] };
    }

    /// <summary>Every full text shown, with who saw it (the audit rows the worker writes).</summary>
    public ConcurrentQueue<(string DecisionId, string User)> FullTextsShown { get; } = new();

    /// <summary>Whether the audit row can be written (when not, the full text must not be shown).</summary>
    public bool AuditWorks { get; set; } = true;

    public bool FullTextShown(string decisionId, string user)
    {
        if (AuditWorks)
        {
            FullTextsShown.Enqueue((decisionId, user));
        }
        return AuditWorks;
    }

    public ConcurrentQueue<(string Action, string Target, string? Label, string User)> Calls { get; } = new();

    public int LargestTake => Volatile.Read(ref _largestTake);

    public IReadOnlyList<string> Mailboxes() => ["A", "B"];

    public IReadOnlyList<string> Departments(string mailbox) => mailbox == "A" ? ["Byg", "Skat", "Social"] : ["Fortrolig"];

    public ResultPage<MailSummary> TriageQueue(string mailbox, int skip, int take) =>
        Page(_byState.GetValueOrDefault((mailbox, "triage"), []).OrderBy(s => s.Received), skip, take);

    public ResultPage<MailSummary> FindMail(MailQuery query, int skip, int take) =>
        Page(_mails.Select(m => m.Summary).Where(s => query.Mailboxes.Contains(s.Mailbox)
            && (query.Sender is null || s.Sender.Contains(query.Sender, StringComparison.OrdinalIgnoreCase))
            && (query.Subject is null || s.Subject.Contains(query.Subject, StringComparison.OrdinalIgnoreCase))
            && (query.DecisionId is null || s.DecisionId.StartsWith(query.DecisionId, StringComparison.Ordinal))).OrderByDescending(s => s.Received), skip, take);

    public MailDetail? GetMail(string decisionId) => _byId.GetValueOrDefault(decisionId);

    public MailText? GetText(string decisionId) => _texts.GetValueOrDefault(decisionId);

    public MailboxStatus GetStatus(string mailbox, DateTimeOffset since) =>
        new(mailbox, "Degraded", "reconnecting after a dropped connection", 3, "instance-1", [.. Enumerable.Range(0, 24).Select(h => new HourVolume(since.AddHours(h), h, h % 3, h % 5 == 0 ? 1 : 0))],
            0.8, TimeSpan.FromMilliseconds(120), TimeSpan.FromSeconds(2), 1);

    public IReadOnlyList<LabelPrecision> LabelPrecisions() =>
        [new("Byg", 100, 3, 0.97, 0.95, 0.6f, false), new("Skat", 10, 4, 0.6, 0.95, null, true)];

    public IReadOnlyList<ThresholdChange> ThresholdChanges(int take) =>
        [new(DateTimeOffset.UnixEpoch, "v2", "Skat", 0.7f, null, "realised precision fell below the target")];

    public IReadOnlyList<ModelVersionInfo> Models() =>
        [new("v2", DateTimeOffset.UnixEpoch.AddDays(2), "candidate", false, 3, 2, true), new("v1", DateTimeOffset.UnixEpoch, "serving", true, 3, 2, false)];

    public string? ModelReport(string version) => version == "v2" ? "# v2 against v1\nBetter." : null;

    public IReadOnlyList<CurvePoint> CurrentModelCurve() => [new(0.9, 0.3, 0.99), new(0.6, 0.6, 0.95), new(0.2, 0.9, 0.85)];

    public ResultPage<MailSummary> Quarantine(string? mailbox, int skip, int take) =>
        Page(Mailboxes().Where(m => mailbox is null || m == mailbox).SelectMany(m => _byState.GetValueOrDefault((m, "quarantined"), [])), skip, take);

    public Task<ActionOutcome> RouteAsync(string decisionId, string label, string user, CancellationToken cancellationToken) => Record("route", decisionId, label, user);

    public Task<ActionOutcome> CorrectAsync(string decisionId, string label, string user, CancellationToken cancellationToken) => Record("correct", decisionId, label, user);

    public Task<ActionOutcome> UndoRouteAsync(string decisionId, string user, TimeSpan window, CancellationToken cancellationToken) => Record("undo", decisionId, null, user);

    public Task<ActionOutcome> ReleaseAsync(string decisionId, string user, CancellationToken cancellationToken) => Record("release", decisionId, null, user);

    public ActionOutcome Promote(string version, string user, string reason) => Record("promote", version, null, user).Result;

    public ActionOutcome Rollback(string user, string reason) => Record("rollback", "-", null, user).Result;

    private Task<ActionOutcome> Record(string action, string target, string? label, string user)
    {
        Calls.Enqueue((action, target, label, user));
        return Task.FromResult(new ActionOutcome(true, $"Done: {action} {label}"));
    }

    private ResultPage<MailSummary> Page(IEnumerable<MailSummary> all, int skip, int take)
    {
        InterlockedMax(ref _largestTake, take);
        var list = all.ToList();
        return new ResultPage<MailSummary>([.. list.Skip(skip).Take(take)], list.Count);
    }

    private void Add(string id, string mailbox, string subject, string sender, DateTimeOffset received, string source, string? label, string state, string body)
    {
        var summary = new MailSummary(id, mailbox, subject, sender, received, source, label, source == "model" ? 0.93f : 0.41f, state);
        Suggestion[] top = mailbox == "A" ? [new("Social", 0.41f), new("Skat", 0.3f), new("Byg", 0.1f)] : [new("Fortrolig", 0.5f)];
        _mails.Add(new MailDetail(summary, label, top, 0.6f, "v1", null, source == "model" ? "confident" : "below the threshold",
            [new("boligstøtte", 1.5f), new("ansøgning", 0.9f)], [], [new(received, "decided", source, label ?? "_manual-triage", "why")]));
        _texts[id] = new MailText(subject, sender, body, []);
        _byId[id] = _mails[^1];
        if (!_byState.TryGetValue((mailbox, state), out var list))
        {
            _byState[(mailbox, state)] = list = [];
        }
        list.Add(summary);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
            {
                return;
            }
        }
    }
}
