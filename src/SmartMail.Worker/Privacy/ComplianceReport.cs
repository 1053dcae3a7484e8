using System.Globalization;
using System.Net;
using System.Text;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Privacy;

/// <summary>
/// The compliance pack from the running system, in Markdown and HTML: a model card per model version (data, evaluation,
/// automation and realised precision in service, threshold changes, corrections per label), the GDPR art. 30 record of
/// processing filled from the configuration, and the oversight figures (AI Act art. 14) per mailbox and month.
/// </summary>
public static class ComplianceReport
{
    /// <summary>Builds the report's sections.</summary>
    /// <param name="options">The worker's options.</param>
    /// <param name="figures">The figures from the state database.</param>
    /// <param name="privacy">Retention passes and models trained on erased mail.</param>
    /// <param name="models">The model registry's store.</param>
    /// <param name="now">The time.</param>
    /// <returns>The sections.</returns>
    public static IReadOnlyList<ReportSection> Build(SmartMailOptions options, ComplianceFigures figures, IPrivacyStore privacy,
        State.IModelStore models, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(figures);
        ArgumentNullException.ThrowIfNull(privacy);
        var sections = new List<ReportSection>
        {
            new("SmartMail compliance report", [$"Made {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC from the running installation's configuration, state store and model registry."], []),
            Article30(options),
            Oversight(figures),
        };
        var registry = ModelRegistry.For(options, models);
        var record = registry.Read();
        var flagged = privacy.FlaggedModels().ToDictionary(f => f.ModelVersion, f => f.Requests, StringComparer.Ordinal);
        var files = record.Models.Select(m => (m.Version, registry.PathOf(m.Version), m.Status)).ToList();
        if (files.Count == 0 && File.Exists(registry.ActivePath))
        {
            files.Add(("configured", registry.ActivePath, "current"));
        }
        foreach (var (version, file, status) in files)
        {
            sections.Add(ModelCard(version, file, status, figures, flagged.GetValueOrDefault(version)));
        }
        var purges = privacy.Purges(12);
        sections.Add(new ReportSection("Retention", [
            $"Learning:RetentionDays = {options.Learning.RetentionDays}: training text and the web app's mail rows older than that are purged daily. " +
            "Audit rows and correction rows hold no mail text and are kept as the record of processing.",
            purges.Count == 0 ? "No purge recorded yet." : $"Last purge {purges[0].Time.UtcDateTime:yyyy-MM-dd HH:mm} UTC.",
            $"Erasures waiting for their mail's delivery: {privacy.PendingCount()}."],
            purges.Count == 0 ? [] : [new ReportTable(["when (UTC)", "cutoff (UTC)", "examples purged", "web rows purged"],
                [.. purges.Select(p => (IReadOnlyList<string>)[Day(p.Time), Day(p.Cutoff), N(p.Examples), N(p.Summaries)])])]));
        return sections;
    }

    private static ReportSection Article30(SmartMailOptions o)
    {
        var mailboxes = o.Mailboxes.Count == 0
            ? ["drop folder " + o.InboxPath]
            : o.Mailboxes.Select(m => $"IMAP mailbox {m.Name} on {m.Host}").ToList();
        var destinations = o.Routes.Count == 0 ? "the model's labels, as folders of the same name" : string.Join(", ", o.Routes.Select(r => $"{r.Key} → {r.Value.Destination ?? r.Key}"));
        var processors = new List<string>();
        if (o.Smtp is { } smtp)
        {
            processors.Add($"SMTP relay {smtp.Host} (forwards routed mail)");
        }
        if (o.Routes.Values.Any(r => r.Url is not null))
        {
            processors.Add("webhook receivers: " + string.Join(", ", o.Routes.Values.Where(r => r.Url is not null).Select(r => r.Url!.Host).Distinct()));
        }
        if (o.Web.Oidc.Authority is { } authority)
        {
            processors.Add($"sign-in provider {authority.Host} (caseworkers' names and roles)");
        }
        if (!string.IsNullOrEmpty(o.Telemetry.OtlpEndpoint))
        {
            processors.Add($"telemetry receiver {o.Telemetry.OtlpEndpoint} (no mail content, no addresses)");
        }
        return new ReportSection("Record of processing (GDPR art. 30)", [], [new ReportTable(["item", "value"],
        [
            ["Purpose", "Routing citizens' mail to the right department of the municipality; a person decides where SmartMail is not confident."],
            ["Categories of data subjects", "Citizens and businesses writing to the municipality; caseworkers who correct routes."],
            ["Categories of personal data", "Mail as received (may include CPR numbers and special categories in free text); sender and recipient addresses; caseworkers' names."],
            ["Sources", string.Join("; ", mailboxes)],
            ["Recipients (destinations)", destinations],
            ["Processors", processors.Count == 0 ? "none configured beyond the municipality's own mail system" : string.Join("; ", processors)],
            ["Where data lives", $"data directory {o.DataDirectory}: state.db (ledger, audit trail, examples, corrections, thread memory), audit.jsonl, journal {o.JournalPath}, models/; the mail itself stays in the mailboxes"],
            ["Retention", $"training text and web rows {o.Learning.RetentionDays} days; journal files until the case system takes them; audit and ledger rows (no text) kept"],
            ["Security", "data directory readable by the service user only; CPR numbers and addresses redacted from logs, metrics, telemetry and audit text; keyed hashes for search"],
            ["Automated decisions", "routing only (no decision about the citizen's case); below each label's threshold a person decides; every route can be corrected"],
        ])]);
    }

    private static ReportSection Oversight(ComplianceFigures figures)
    {
        var rows = figures.Oversight();
        return new ReportSection("Human oversight (AI Act art. 14)", [
            "Per mailbox and month: mails decided, the share routed without a person, the share sent to a person (manual triage), and the share corrected afterwards."],
            [new ReportTable(["mailbox", "month", "decided", "routed alone", "to a person", "corrected"],
                [.. rows.Select(r => (IReadOnlyList<string>)[r.Mailbox, r.Month, N(r.Total), r.Share(r.Routed), r.Share(r.ToPerson), r.Share(r.Corrected)])])]);
    }

    private static ReportSection ModelCard(string version, string file, string status, ComplianceFigures figures, int erasures)
    {
        var paragraphs = new List<string>();
        var tables = new List<ReportTable>();
        try
        {
            using var bundle = ModelBundle.Load(file);
            var m = bundle.Manifest;
            version = m.ModelVersion;
            paragraphs.Add($"Status: {status}. Created {m.CreatedUtc.UtcDateTime:yyyy-MM-dd HH:mm} UTC by SmartMail {m.SmartMailVersion}.");
            paragraphs.Add($"Data: {N(m.Training.Documents)} documents from {m.Training.SourceKind} '{m.Training.SourceName}' (fingerprint {m.Training.Fingerprint[..Math.Min(12, m.Training.Fingerprint.Length)]}), " +
                $"{N(m.Training.Skipped)} skipped; held out {m.Training.HoldoutFraction:P0} ({m.Training.HoldoutSplit}); target precision {m.Training.TargetPrecision:0.###}.");
            if (m.HoldoutMetrics is { } metrics)
            {
                paragraphs.Add($"Evaluation on held-out mail: macro-F1 {metrics.MacroF1:F3}, accuracy {metrics.Accuracy:F3}.");
            }
            if (erasures > 0)
            {
                paragraphs.Add($"Flagged: trained on mail erased since ({erasures} erasure requests); the next retrain leaves those examples out.");
            }
            tables.Add(new ReportTable(["label", "training examples", "threshold"],
                [.. m.Labels.Select(l => (IReadOnlyList<string>)[l.Name, N(l.Count), l.Threshold is { } t ? t.ToString("0.###", CultureInfo.InvariantCulture) : "manual only"])]));
        }
        catch (Exception ex) when (ex is ModelBundleException or IOException)
        {
            paragraphs.Add($"Status: {status}. The bundle cannot be read: {ex.Message}");
        }
        var service = figures.InService(version);
        paragraphs.Add(service.Count == 0 ? "In service: no automatic route counted yet." : "In service (realised precision from corrections):");
        if (service.Count > 0)
        {
            tables.Add(new ReportTable(["label", "automatic routes", "corrected", "realised precision", "threshold in force"],
                [.. service.Select(s => (IReadOnlyList<string>)[s.Label, N(s.Automated), N(s.Wrong),
                    s.Automated == 0 ? "–" : (1.0 - ((double)s.Wrong / s.Automated)).ToString("P1", CultureInfo.InvariantCulture),
                    s.Threshold is { } t ? t.ToString("0.###", CultureInfo.InvariantCulture) : "–"])]));
        }
        var changes = figures.ThresholdChanges(version);
        if (changes.Count > 0)
        {
            tables.Add(new ReportTable(["threshold change (UTC)", "label", "from", "to", "why"],
                [.. changes.Select(c => (IReadOnlyList<string>)[c.Time[..16].Replace('T', ' '), c.Label, Num(c.From), Num(c.To), c.Reason])]));
        }
        var corrections = figures.CorrectionsPerLabel(version);
        tables.Add(new ReportTable(["corrected decisions of label", "corrections"], [.. corrections.Select(c => (IReadOnlyList<string>)[c.Label, N(c.Count)])]));
        return new ReportSection($"Model card: {version}", paragraphs, tables);
    }

    /// <summary>The report as Markdown.</summary>
    /// <param name="sections">The sections.</param>
    /// <returns>The text.</returns>
    public static string Markdown(IReadOnlyList<ReportSection> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        var sb = new StringBuilder();
        for (var i = 0; i < sections.Count; i++)
        {
            var s = sections[i];
            sb.Append(i == 0 ? "# " : "## ").Append(s.Title).Append("\n\n");
            foreach (var p in s.Paragraphs)
            {
                sb.Append(p).Append("\n\n");
            }
            foreach (var t in s.Tables)
            {
                sb.Append("| ").AppendJoin(" | ", t.Header.Select(Cell)).Append(" |\n|").AppendJoin("|", t.Header.Select(_ => "---")).Append("|\n");
                foreach (var row in t.Rows)
                {
                    sb.Append("| ").AppendJoin(" | ", row.Select(Cell)).Append(" |\n");
                }
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>The report as a self-contained HTML page.</summary>
    /// <param name="sections">The sections.</param>
    /// <returns>The page.</returns>
    public static string Html(IReadOnlyList<ReportSection> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SmartMail compliance report</title>" +
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}" +
            "td,th{border:1px solid #999;padding:.2em .5em;text-align:left}</style></head><body>\n" + HtmlBody(sections, 1) + "</body></html>\n";
    }

    /// <summary>The report's headings, text and tables as an HTML fragment (English), to be placed in a page of its own.</summary>
    /// <param name="sections">The sections.</param>
    /// <param name="level">The heading level of the first section (the report's title); the others are one below it.</param>
    /// <returns>The fragment.</returns>
    public static string HtmlBody(IReadOnlyList<ReportSection> sections, int level)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 5);
        var sb = new StringBuilder();
        for (var i = 0; i < sections.Count; i++)
        {
            var s = sections[i];
            var h = "h" + (i == 0 ? level : level + 1).ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"<{h}>{WebUtility.HtmlEncode(s.Title)}</{h}>\n");
            foreach (var p in s.Paragraphs)
            {
                sb.Append("<p>").Append(WebUtility.HtmlEncode(p)).Append("</p>\n");
            }
            foreach (var t in s.Tables)
            {
                sb.Append("<table><tr>").AppendJoin("", t.Header.Select(c => $"<th>{WebUtility.HtmlEncode(c)}</th>")).Append("</tr>\n");
                foreach (var row in t.Rows)
                {
                    sb.Append("<tr>").AppendJoin("", row.Select(c => $"<td>{WebUtility.HtmlEncode(c)}</td>")).Append("</tr>\n");
                }
                sb.Append("</table>\n");
            }
        }
        return sb.ToString();
    }

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Num(double? d) => d is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "–";

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}

/// <summary>A section of a report.</summary>
/// <param name="Title">The heading.</param>
/// <param name="Paragraphs">Text.</param>
/// <param name="Tables">Tables.</param>
public sealed record ReportSection(string Title, IReadOnlyList<string> Paragraphs, IReadOnlyList<ReportTable> Tables);

/// <summary>A table of a report.</summary>
/// <param name="Header">Column names.</param>
/// <param name="Rows">Rows of cells.</param>
public sealed record ReportTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);
