using System.Data.Common;
using System.Globalization;
using System.Text;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Web;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Oversight;

/// <summary>
/// The web app's reads, over <c>state.db</c> (the ledger's <c>mail_summary</c>, <c>mail</c> and <c>audit</c> tables, the
/// example store's <c>correction</c> and <c>example</c> tables), the model registry and the worker's health. Each call
/// opens its own pooled read connection (WAL: readers never wait for the ledger's writer, and never hold its lock), and
/// every list is one indexed, paged query: nothing loads all decisions. Thread-safe.
/// </summary>
public sealed class OversightQueries : IOversightQueries
{
    private readonly IStateStore _store;
    private readonly ExampleStore _examples;
    private readonly SmartMailOptions _options;
    private readonly ModelRegistry _registry;
    private readonly Func<ModelBundle?> _model;
    private readonly Health.WorkerHealth? _health;
    private readonly TimeProvider _time;
    private readonly string _instanceId;
    private readonly MailPlaces _places;

    /// <summary>Creates the queries.</summary>
    /// <param name="store">The ledger (its file is read; its writer is not used).</param>
    /// <param name="examples">The example store (its tables must exist before the first query).</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="model">The model in force.</param>
    /// <param name="health">The worker's health; none in tools and tests.</param>
    /// <param name="time">The clock.</param>
    public OversightQueries(IStateStore store, ExampleStore examples, SmartMailOptions options, Func<ModelBundle?> model,
        Health.WorkerHealth? health, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _options = options;
        _examples = examples;
        _registry = ModelRegistry.For(options, store);
        _model = model;
        _health = health;
        _time = time;
        _instanceId = store.InstanceId;
        _places = new MailPlaces(options);
        using var connection = Open();
        // The example store's corrections are found per decision on the mail page.
        connection.Execute("CREATE INDEX IF NOT EXISTS correction_decision ON correction (decision_id)");
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Mailboxes() => _places.Mailboxes;

    /// <inheritdoc />
    public IReadOnlyList<string> Departments(string mailbox)
    {
        var labels = new SortedSet<string>(_options.Routes.Keys, StringComparer.Ordinal);
        if (_model() is { } model)
        {
            labels.UnionWith(model.Model.Labels);
        }
        return [.. labels];
    }

    /// <inheritdoc />
    public ResultPage<MailSummary> TriageQueue(string mailbox, int skip, int take) =>
        Page("mailbox = @m AND state = 'triage'", "received_utc", skip, take, ("@m", mailbox));

    /// <inheritdoc />
    public ResultPage<MailSummary> Quarantine(string? mailbox, int skip, int take) =>
        mailbox is null
            ? Page($"mailbox IN ({InList(_places.Mailboxes.Count)}) AND state = 'quarantined'", "received_utc DESC", skip, take,
                [.. _places.Mailboxes.Select((m, i) => ($"@p{i}", (object)m))])
            : Page("mailbox = @m AND state = 'quarantined'", "received_utc DESC", skip, take, ("@m", mailbox));

    /// <inheritdoc />
    public ResultPage<MailSummary> FindMail(MailQuery query, int skip, int take)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Mailboxes.Count == 0)
        {
            return new ResultPage<MailSummary>([], 0);
        }
        // With a decision id or an indexed text part, that narrows first (the "+" keeps the planner off the mailbox indexes).
        // SQLite's trigram index (summary_text); PostgreSQL matches parts with ILIKE (case-insensitive, like SQLite's LIKE), no extension needed.
        var trigram = _store is not StateStore { Dialect: not SqliteDialect };
        var narrow = trigram && (!string.IsNullOrWhiteSpace(query.DecisionId) || new[] { query.Sender, query.Subject }.Any(v => v?.Trim() is { Length: >= 3 } t && t.IndexOfAny(['%', '_', '\\']) < 0));
        var where = new StringBuilder($"{(narrow ? "+" : "")}mailbox IN ({InList(query.Mailboxes.Count)}) AND state <> 'pending'");
        var parameters = query.Mailboxes.Select((m, i) => ($"@p{i}", (object)m)).ToList();
        // Parts of the sender or subject through the trigram index (three characters or more; shorter ones scan).
        foreach (var (column, value) in new[] { ("sender", query.Sender), ("subject", query.Subject) })
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                var part = value.Trim();
                var indexed = trigram && part.Length >= 3 && part.IndexOfAny(['%', '_', '\\']) < 0;
                where.Append(indexed
                    ? $" AND rowid IN (SELECT rowid FROM summary_text WHERE summary_text.{column} LIKE @{column})"
                    : $" AND {column} {(trigram ? "LIKE" : "ILIKE")} @{column} ESCAPE '\\'");
                parameters.Add(($"@{column}", "%" + (indexed ? part : Like(part)) + "%"));
            }
        }
        if (query.From is { } from)
        {
            where.Append(" AND received_utc >= @from");
            parameters.Add(("@from", StateTime.Format(from)));
        }
        if (query.To is { } to)
        {
            where.Append(" AND received_utc < @to");
            parameters.Add(("@to", StateTime.Format(to)));
        }
        if (!string.IsNullOrWhiteSpace(query.DecisionId))
        {
            // A prefix as a range on the primary key (LIKE would not use the index).
            where.Append(" AND decision_id >= @id AND decision_id < @idEnd");
            var id = query.DecisionId.Trim().ToLowerInvariant();
            parameters.Add(("@id", id));
            parameters.Add(("@idEnd", id + "\uffff"));
        }
        return Page(where.ToString(), "received_utc DESC", skip, take, [.. parameters]);
    }

    /// <inheritdoc />
    public MailDetail? GetMail(string decisionId)
    {
        ArgumentNullException.ThrowIfNull(decisionId);
        using var connection = Open();
        var summary = ReadSummaries(connection, "decision_id = @d", null, 0, 1, ("@d", decisionId)).FirstOrDefault();
        if (summary is null)
        {
            return null;
        }
        string? json;
        using (var cmd = Command(connection, "SELECT decision_json FROM mail WHERE decision_id = @d ORDER BY updated_utc DESC LIMIT 1", ("@d", decisionId)))
        {
            json = cmd.ExecuteScalar() as string;
        }
        var decision = DecisionJson.Parse(json);
        var corrections = new List<CorrectionInfo>();
        using (var cmd = Command(connection, "SELECT time_utc, from_label, to_label, by_whom, via FROM correction WHERE decision_id = @d ORDER BY seq", ("@d", decisionId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                corrections.Add(new CorrectionInfo(Parse(r.GetString(0)), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4)));
            }
        }
        var history = new List<HistoryRow>();
        using (var cmd = Command(connection, "SELECT time_utc, outcome, source, destination, reason || COALESCE(' (by ' || by_whom || ')', '') FROM audit WHERE decision_id = @d ORDER BY seq", ("@d", decisionId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                history.Add(new HistoryRow(Parse(r.GetString(0)), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4)));
            }
        }
        var reason = decision.Reason ?? history.FirstOrDefault(h => h.Outcome is "routed" or "manual" or "quarantined")?.Reason ?? "";
        return new MailDetail(summary, summary.State == "pending" ? decision.Destination : _places.PlaceOf(summary.Mailbox, Destination(connection, decisionId) ?? ""),
            decision.Top, decision.Threshold, decision.ModelVersion, decision.Rule, reason, Terms(connection, summary, decision), corrections, history);
    }

    /// <inheritdoc />
    /// <remarks>
    /// From the journal's <c>.eml</c> when the mail lies in the journal (the embedded default: the original, read in full);
    /// else the text the learning loop kept at decision time (<c>Learning:StoreExamples</c>; CPR numbers and addresses
    /// already redacted there). An IMAP mailbox's mail is not fetched for a preview: that would need a connection per page
    /// view on the mailbox the worker works on.
    /// </remarks>
    public MailText? GetText(string decisionId) => Text(decisionId, stored: false);

    /// <inheritdoc />
    /// <remarks>
    /// The text the learning loop kept at decision time (CPR numbers and addresses redacted); without it
    /// (<c>Learning:StoreExamples=false</c>) the journal's <c>.eml</c> without its attachments. No attachment is read again.
    /// </remarks>
    public MailText? GetStoredText(string decisionId) => Text(decisionId, stored: true);

    private MailText? Text(string decisionId, bool stored)
    {
        ArgumentNullException.ThrowIfNull(decisionId);
        using var connection = Open();
        string mailbox, fingerprint, destination, sender;
        using (var cmd = Command(connection, "SELECT mailbox, fingerprint, destination, sender FROM mail_summary WHERE decision_id = @d", ("@d", decisionId)))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                return null;
            }
            (mailbox, fingerprint, destination, sender) = (r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3));
        }
        var file = _places.JournalFile(mailbox, destination, decisionId, ".eml") is { } f && File.Exists(f) ? f : null;
        if (file is not null && !stored)
        {
            return Journal(file, sender, new MailExtractor());
        }
        using (var cmd = Command(connection, "SELECT subject, body FROM example WHERE mailbox = @m AND fingerprint = @fp", ("@m", mailbox), ("@fp", fingerprint)))
        using (var r = cmd.ExecuteReader())
        {
            if (r.Read())
            {
                return new MailText(r.GetString(0), sender, r.GetString(1), []);
            }
        }
        return file is null ? null : Journal(file, sender, new MailExtractor(new ExtractionOptions { ReadAttachments = false }));
    }

    private static MailText Journal(string file, string sender, MailExtractor extractor)
    {
        var document = extractor.Extract(File.ReadAllBytes(file));
        return new MailText(document.Subject, document.From.Count > 0 ? document.From[0] : sender, document.Body,
            [.. document.Attachments.Select(a => a.FileName ?? a.MediaType)]);
    }

    /// <inheritdoc />
    public MailboxStatus GetStatus(string mailbox, DateTimeOffset since)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        using var connection = Open();
        var (backlog, waiting) = (0, 0);
        using (var cmd = Command(connection, "SELECT state, COUNT(*) FROM mail WHERE mailbox = @m AND state < @delivered GROUP BY state",
            ("@m", mailbox), ("@delivered", (int)MailState.Delivered)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                backlog += r.GetInt32(1);
                waiting += r.GetInt32(0) == (int)MailState.Decided ? r.GetInt32(1) : 0;
            }
        }
        // One pass over the window on a covering index: hourly volumes, and the latencies for the percentiles.
        var byHour = new SortedDictionary<string, (int Routed, int Manual, int Quarantined)>(StringComparer.Ordinal);
        var latencies = new List<long>();
        using (var cmd = Command(connection, "SELECT decided_utc, outcome, latency_ms FROM mail_summary WHERE mailbox = @m AND decided_utc >= @since",
            ("@m", mailbox), ("@since", StateTime.Format(since))))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var hour = r.GetString(0)[..13];
                var v = byHour.GetValueOrDefault(hour);
                byHour[hour] = r.GetString(1) switch
                {
                    "routed" => v with { Routed = v.Routed + 1 },
                    "triage" => v with { Manual = v.Manual + 1 },
                    _ => v with { Quarantined = v.Quarantined + 1 },
                };
                if (!r.IsDBNull(2))
                {
                    latencies.Add(r.GetInt64(2));
                }
            }
        }
        var hours = byHour.Select(h => new HourVolume(
            DateTimeOffset.ParseExact(h.Key, "yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            h.Value.Routed, h.Value.Manual, h.Value.Quarantined)).ToList();
        var routed = hours.Sum(h => h.Routed);
        var all = hours.Sum(h => h.Routed + h.Manual + h.Quarantined);
        latencies.Sort();
        TimeSpan? At(double q) => latencies.Count == 0 ? null
            : TimeSpan.FromMilliseconds(Math.Max(0, latencies[(int)Math.Min(latencies.Count - 1, Math.Max(0, Math.Ceiling(q * latencies.Count) - 1))]));
        var (p50, p99) = (At(0.50), At(0.99));
        var (health, detail, holder) = Health(mailbox);
        return new MailboxStatus(mailbox, health, detail, backlog, holder, hours, all == 0 ? 0 : (double)routed / all, p50, p99, waiting);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The learning loop's own counts (<see cref="LabelPrecisionMonitor"/>): automated are the mails the model routed to the
    /// label alone, counted when routed; corrected are those of them a person corrected, from any channel (IMAP move, the
    /// CLI, the web app). The threshold is the one in force, after the raises made in service. Labels without automatic
    /// routes yet show the model's own threshold.
    /// </remarks>
    public IReadOnlyList<LabelPrecision> LabelPrecisions()
    {
        if (_model() is not { } model)
        {
            return [];
        }
        var counted = LabelPrecisionMonitor.Report(_examples, _options, model.Manifest.ModelVersion).ToDictionary(r => r.Label, StringComparer.Ordinal);
        var target = _options.Learning.TargetPrecision;
        return [.. model.Manifest.Labels.Select(l => counted.TryGetValue(l.Name, out var r)
            ? new LabelPrecision(l.Name, r.Automated, r.Corrected, r.RealisedPrecision, r.TargetPrecision, r.Threshold, r.Threshold is null)
            : new LabelPrecision(l.Name, 0, 0, null, target, l.Threshold, l.Threshold is null))];
    }

    /// <inheritdoc />
    public IReadOnlyList<ThresholdChange> ThresholdChanges(int take) =>
        [.. _examples.ReadThresholdChanges(take).Select(c => new ThresholdChange(c.Time, c.ModelVersion, c.Label, c.From, c.To, c.Reason))];

    /// <inheritdoc />
    public IReadOnlyList<ModelVersionInfo> Models()
    {
        var record = _registry.Read();
        if (record.Models.Count == 0 && _model() is { } model)
        {
            // Nothing promoted yet: the configured model is the one version.
            var m = model.Manifest;
            return [new ModelVersionInfo(m.ModelVersion, m.CreatedUtc, "current", true, m.Labels.Count, m.Labels.Count(l => l.Threshold is not null), false)];
        }
        return [.. record.Models.OrderByDescending(m => m.CreatedUtc).Select(m =>
            new ModelVersionInfo(m.Version, m.CreatedUtc, m.Status, m.Version == record.Current, m.Labels, m.RoutedLabels, m.Report is not null))];
    }

    /// <inheritdoc />
    public string? ModelReport(string version)
    {
        // The report kept with the version in the store (any instance's retrain wrote it).
        return _registry.Report(version);
    }

    /// <inheritdoc />
    public IReadOnlyList<global::SmartMail.Web.CurvePoint> CurrentModelCurve() =>
        _model()?.Manifest.HoldoutMetrics?.Curve is { } curve
            ? [.. curve.Select(p => new global::SmartMail.Web.CurvePoint(p.MinConfidence, p.AutomationRate, p.Precision)).OrderBy(p => p.Automation)]
            : [];

    private (string Health, string Detail, string? Holder) Health(string mailbox)
    {
        if (_health?.LedgerFailure is { } failure)
        {
            return ("Unhealthy", $"the ledger cannot record ({failure})", null);
        }
        var imap = _options.Mailboxes.FirstOrDefault(m => m.Name == mailbox);
        if (_health is null || !_health.Mailboxes.TryGetValue(mailbox, out var h))
        {
            return imap is null ? ("Healthy", "the drop folder is watched", null) : ("Degraded", "not connected yet", null);
        }
        string? holder = null;
        if (imap is { UseLease: true })
        {
            holder = h.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy ? $"this instance ({_instanceId})" : "another instance";
        }
        return (h.Status.ToString(), h.Description, holder);
    }

    private static string? Destination(DbConnection connection, string decisionId)
    {
        using var cmd = Command(connection, "SELECT destination FROM mail_summary WHERE decision_id = @d", ("@d", decisionId));
        return cmd.ExecuteScalar() as string;
    }

    // The terms that weighed most for the decided (or top) label, from the text kept at decision time, when the model that
    // decided is the one in force (another model's weights would explain nothing).
    private IReadOnlyList<Suggestion> Terms(DbConnection connection, MailSummary summary, DecisionJson decision)
    {
        if (_model() is not { } model || decision.ModelVersion != model.Manifest.ModelVersion)
        {
            return [];
        }
        var label = decision.Label ?? (decision.Top.Count > 0 ? decision.Top[0].Name : null);
        var index = label is null ? -1 : model.Model.Labels.ToList().IndexOf(label);
        if (index < 0)
        {
            return [];
        }
        using var cmd = Command(connection, "SELECT e.subject, e.body FROM example e JOIN mail_summary s ON s.mailbox = e.mailbox AND s.fingerprint = e.fingerprint " +
            "WHERE s.decision_id = @d", ("@d", summary.DecisionId));
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return [];
        }
        return [.. model.Model.Explain(new TextInput(r.GetString(0), r.GetString(1)), index, 10).Select(t => new Suggestion(t.Term, t.Contribution))];
    }

    private ResultPage<MailSummary> Page(string where, string order, int skip, int take, params (string Name, object? Value)[] parameters)
    {
        using var connection = Open();
        using var count = Command(connection, "SELECT COUNT(*) FROM mail_summary WHERE " + where, parameters);
        var total = Convert.ToInt32(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        return new ResultPage<MailSummary>(ReadSummaries(connection, where, order, Math.Max(0, skip), Math.Clamp(take, 0, 500), parameters), total);
    }

    private static List<MailSummary> ReadSummaries(DbConnection connection, string where, string? order, int skip, int take,
        params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(connection, "SELECT decision_id, mailbox, subject, sender, received_utc, source, label, confidence, state " +
            "FROM mail_summary WHERE " + where + (order is null ? "" : " ORDER BY " + order) + " LIMIT @take OFFSET @skip",
            [.. parameters, ("@take", take), ("@skip", skip)]);
        using var r = cmd.ExecuteReader();
        var result = new List<MailSummary>();
        while (r.Read())
        {
            result.Add(new MailSummary(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Parse(r.GetString(4)), r.GetString(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetFloat(7), r.GetString(8)));
        }
        return result;
    }

    private DbConnection Open() => _store.OpenConnection();

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters) =>
        connection.Command(sql, parameters);

    private static string InList(int count) => string.Join(", ", Enumerable.Range(0, count).Select(i => $"@p{i}"));

    private static string Like(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static DateTimeOffset Parse(string time) => DateTimeOffset.Parse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);


    // The decision record as the processor wrote it (MailProcessor.DecisionJson; quarantine and manual records have fewer fields).
    internal sealed record DecisionJson(string? Label, string? Destination, IReadOnlyList<Suggestion> Top, float? Threshold, string? ModelVersion,
        string? Rule, string? Reason)
    {
        public static DecisionJson Parse(string? json) => Processing.DecisionRecord.Parse(json) is { } d
            ? new DecisionJson(d.Label, d.Destination, [.. (d.Top ?? []).Select(t => new Suggestion(t.Label, t.Score))], d.Threshold, d.ModelVersion, d.Rule, d.Reason)
            : new DecisionJson(null, null, [], null, null, null, null);
    }
}
